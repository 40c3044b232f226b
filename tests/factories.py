"""Factories for every kind of record, with sensible unique defaults."""

from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from crm.auth.models import User
from crm.db import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
_password_hash = None


def _hash() -> str:
    # scrypt is slow on purpose; hash the shared test password once per run.
    global _password_hash
    if _password_hash is None:
        _password_hash = generate_password_hash(PASSWORD, method="scrypt")
    return _password_hash


def make_user(role="staff", email=None, name=None, active=True, **fields) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role}{n}@example.org",
        name=name or f"{role.title()} {n}",
        role=role,
        active=active,
        password_hash=_hash(),
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_partner(name_en=None, owner=None, **fields):
    from crm.partners.models import Partner

    n = next(_counter)
    partner = Partner(name_en=name_en or f"Partner {n}", owner_id=owner.id if owner else None)
    fields.setdefault("kind", "company")
    fields.setdefault("status", "active")
    for key, value in fields.items():
        setattr(partner, key, value)
    partner.refresh_derived()
    db.session.add(partner)
    db.session.flush()
    return partner


def make_contact(name=None, owner=None, positions=(), **fields):
    """positions: (partner, title) pairs, or (partner, title, start, end) tuples."""
    from crm.contacts.models import Contact, Position

    n = next(_counter)
    contact = Contact(name=name or f"Contact {n}", owner_id=owner.id if owner else None, **fields)
    for spec in positions:
        partner, title, *dates = spec
        start, end = (list(dates) + [None, None])[:2]
        contact.positions.append(
            Position(partner_id=partner.id, title=title, start_date=start, end_date=end)
        )
    contact.refresh_derived()
    db.session.add(contact)
    db.session.flush()
    return contact


def make_agreement(title=None, parties=(), owner=None, **fields):
    """parties: (partner, role) pairs or (partner, role, signatory) triples."""
    from crm.agreements.models import Agreement, AgreementParty

    n = next(_counter)
    agreement = Agreement(title=title or f"Agreement {n}", owner_id=owner.id if owner else None)
    fields.setdefault("type", "cooperation")
    fields.setdefault("stage", "draft")
    for key, value in fields.items():
        setattr(agreement, key, value)
    for spec in parties:
        partner, role, *rest = spec
        signatory = rest[0] if rest else None
        agreement.parties.append(
            AgreementParty(
                partner_id=partner.id, role=role, signatory_id=signatory.id if signatory else None
            )
        )
    agreement.refresh_derived()
    db.session.add(agreement)
    db.session.flush()
    return agreement


def indicator_kinds():
    """The standard indicator kinds by code, created on first use."""
    from sqlalchemy import select

    from crm.projects.models import IndicatorKind
    from crm.projects.operations import ensure_standard_indicator_kinds

    ensure_standard_indicator_kinds()
    return {k.code: k for k in db.session.scalars(select(IndicatorKind))}


def make_project(name=None, partners=(), agreements=(), owner=None, **fields):
    """partners: (partner, role) pairs."""
    from crm.projects.models import Project, ProjectPartner

    n = next(_counter)
    project = Project(name=name or f"Project {n}", owner_id=owner.id if owner else None)
    fields.setdefault("status", "active")
    for key, value in fields.items():
        setattr(project, key, value)
    for partner, role in partners:
        project.partners.append(ProjectPartner(partner_id=partner.id, role=role))
    project.agreements = list(agreements)
    project.refresh_derived()
    db.session.add(project)
    db.session.flush()
    return project
