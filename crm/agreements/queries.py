"""Reads on agreements: the list with its filters and sorts, and the detail page's data."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from crm.agreements.models import Agreement, AgreementParty, state_clause, with_party
from crm.db import db
from crm.listing import (
    Filter,
    Sort,
    archived_filter,
    choice_filter,
    date_filter,
    hide_archived,
    list_query,
    page_of,
    parse_id,
    partner_match_filters,
)
from crm.partners.models import Partner
from crm.projects.models import Project, project_agreement
from crm.records import load_or_404
from crm.text import like_pattern
from crm.vocab import AGREEMENT_STAGES, AGREEMENT_STATES, AGREEMENT_TYPES, PARTNER_KINDS

SORTS = {
    "title": Sort(_l("Title"), [Agreement.sort_title]),
    "type": Sort(_l("Type"), [Agreement.type, Agreement.signed_sort]),
    "stage": Sort(_l("Stage"), [Agreement.stage, Agreement.signed_sort]),
    # Unsigned agreements carry date.max: newest first puts the drafts in progress on top.
    "signed": Sort(_l("Signed on"), [Agreement.signed_sort], default_desc=True),
    "expires": Sort(_l("Expires on"), [Agreement.expires_sort]),
    "updated": Sort(_l("Updated"), [Agreement.updated_at], default_desc=True),
}
DEFAULT_SORT = "signed"


def _quick(query, value):
    return query.where(Agreement.search_text.like(like_pattern(value), escape="\\"))


def _state(query, values):
    today = date.today()
    if any(v not in AGREEMENT_STATES for v in values):
        raise LookupError(values)
    return query.where(or_(*(state_clause(v, today) for v in values)))


def _owner(query, value):
    return query.where(Agreement.owner_id == parse_id(value))


def _partner(query, values):
    """Agreements every one of these partners is a party to (a network link: two)."""
    ids = {parse_id(v) for v in values}
    if len(ids) > 10:
        raise ValueError(values)
    for partner_id in sorted(ids):
        parties = select(AgreementParty.agreement_id).where(AgreementParty.partner_id == partner_id)
        query = query.where(Agreement.id.in_(parties))
    return query


def _currency(query, value):
    code = value.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise ValueError(value)
    return query.where(Agreement.value_currency == code, Agreement.value_amount.is_not(None))


FILTERS = [
    Filter("q", _quick),
    Filter("type", choice_filter(Agreement.type, AGREEMENT_TYPES), multi=True),
    Filter("stage", choice_filter(Agreement.stage, AGREEMENT_STAGES), multi=True),
    Filter("state", _state, multi=True),
    Filter("owner", _owner),
    Filter("partner", _partner, multi=True),
    Filter("currency", _currency),
    Filter("signed_from", date_filter(Agreement.signed_on, "from")),
    Filter("signed_to", date_filter(Agreement.signed_on, "to")),
    Filter("expires_from", date_filter(Agreement.expires_on, "from")),
    Filter("expires_to", date_filter(Agreement.expires_on, "to")),
    Filter("archived", archived_filter(Agreement)),
]


def list_filters(args=None) -> list[Filter]:
    """Every filter of the list: the fixed ones and those that read several arguments."""
    return [*FILTERS, *party_filters(args)]


def agreement_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    query = select(Agreement).options(
        joinedload(Agreement.owner),
        selectinload(Agreement.parties).joinedload(AgreementParty.partner),
    )
    args = request.args if args is None else args
    query = hide_archived(query, Agreement, args)
    return list_query(
        query,
        Agreement,
        sorts=SORTS,
        default_sort=DEFAULT_SORT,
        filters=list_filters(args),
        args=args,
    )


def agreement_page(args=None):
    """One page of the list, each row with its owner and its parties' names."""
    return page_of(agreement_list(args), args=args)


def party_filters(args):
    """partner_kind / partner_country: agreements with a party of that kind or country."""

    return partner_match_filters(args, with_party, Partner.kind, Partner.country, PARTNER_KINDS)


def partners_named(values) -> list:
    """The partners a `partner` filter names, in its order, for the list's heading (one
    statement; unknown ids are left out)."""

    try:
        ids = [parse_id(v) for v in (values or [])][:10]
    except ValueError:
        return []
    if not ids:
        return []
    found = db.session.scalars(select(Partner).where(Partner.id.in_(ids))).all()
    return sorted(found, key=lambda p: ids.index(p.id))


DETAIL_LIMIT = 100


def agreement_detail(agreement_id: int):
    """The agreement with everything its page shows, in a fixed number of statements."""

    agreement = load_or_404(
        Agreement,
        agreement_id,
        joinedload(Agreement.amends),
        joinedload(Agreement.owner),
        joinedload(Agreement.created_by),
        joinedload(Agreement.updated_by),
        selectinload(Agreement.parties).joinedload(AgreementParty.partner),
        selectinload(Agreement.parties).joinedload(AgreementParty.signatory),
    )
    amendments = db.session.scalars(
        select(Agreement)
        .where(Agreement.amends_id == agreement.id, Agreement.archived_at.is_(None))
        .order_by(Agreement.signed_sort, Agreement.id)
        .limit(DETAIL_LIMIT)
    ).all()
    projects = db.session.scalars(
        select(Project)
        .join(project_agreement, project_agreement.c.project_id == Project.id)
        .where(project_agreement.c.agreement_id == agreement.id, Project.archived_at.is_(None))
        .order_by(Project.start_sort.desc(), Project.id.desc())
        .limit(DETAIL_LIMIT)
    ).all()
    return {
        "agreement": agreement,
        "amendments": amendments,
        "projects": projects,
        "today": date.today(),
        "limit": DETAIL_LIMIT,
    }
