"""The duplicate guard: before a new partner or contact is saved, show the records that
look like it, with links; saving anyway is one more deliberate click.

The confirmation is tied to the names it was given for: change a name after seeing the
list and the check runs again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flask import request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.db import db
from crm.duplicates import index
from crm.duplicates.index import draft_profile
from crm.duplicates.names import Match, Profile
from crm.partners.models import Partner
from crm.vocab import PARTNER_KINDS, country_name, label

SHOWN = 10


@dataclass
class Candidate:
    """An existing record that looks like the one being entered."""

    kind: str
    record: object
    match: Match

    @property
    def url(self) -> str:
        if self.kind == "partner":
            return url_for("partners.detail", partner_id=self.record.id)
        return url_for("contacts.detail", contact_id=self.record.id)

    @property
    def detail(self) -> str:
        record = self.record
        if self.kind == "partner":
            parts = [label(PARTNER_KINDS, record.kind), record.city, country_name(record.country)]
        else:
            parts = [record.email]
        return " · ".join(p for p in parts if p)

    @property
    def reason(self) -> str:
        return reason_text(self.match.to_json(), self.match.score)


@dataclass
class GuardResult:
    """What the form shows: the look-alikes, and whether saving anyway was confirmed."""

    candidates: list[Candidate] = field(default_factory=list)
    digest: str = ""
    confirmed: bool = False

    @property
    def blocking(self) -> bool:
        return bool(self.candidates) and not self.confirmed


def reason_text(reason: dict, score: int) -> str:
    """Why two records look alike, in words."""
    how, a, b = reason.get("how"), reason.get("a", ""), reason.get("b", "")
    if how == "email":
        text = _("The same email: %(email)s", email=a)
    elif how == "same":
        text = _(
            "The same name once case, width, punctuation, legal form and word order are "
            "set aside: “%(a)s” and “%(b)s”",
            a=a,
            b=b,
        )
    elif how == "generic":
        text = _("The same name apart from descriptive words: “%(a)s” and “%(b)s”", a=a, b=b)
    elif how == "pinyin":
        text = _("The same pinyin: “%(a)s” and “%(b)s”", a=a, b=b)
    else:
        text = _("Similar names (%(score)s%%): “%(a)s” and “%(b)s”", score=score, a=a, b=b)
    if reason.get("place"):
        text += " · " + _("the same place in brackets: %(place)s", place=reason["place"])
    return text


def draft_names(kind: str, form) -> tuple[list, list, list]:
    """(names, emails, cities) typed into a partner or contact form."""
    others = [row.name.data for row in form.other_names.filled()]
    if kind == "partner":
        return [form.name_en.data, form.name_zh.data, *others], [], [form.city.data]
    return [form.name.data, form.name_zh.data, *others], [form.email.data], []


def digest(profile: Profile) -> str:
    text = "\n".join(sorted(f"{f.script}:{f.text}" for f in profile.forms))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def candidates_for(kind: str, names, emails=(), cities=(), exclude=()) -> list[Candidate]:
    """Live records that look like a record with these names, most similar first."""

    profile = draft_profile(kind, list(names), list(emails), list(cities))
    return _candidates(kind, profile, exclude)


def _candidates(kind: str, profile: Profile, exclude=()) -> list[Candidate]:
    if not profile.forms:
        return []
    found = index.similar_to(db.session.connection(), kind, profile, exclude)[:SHOWN]
    if not found:
        return []
    model = _model(kind)
    records = {
        r.id: r
        for r in db.session.scalars(
            select(model).where(
                model.id.in_([rid for rid, _ in found]), model.archived_at.is_(None)
            )
        )
    }
    return [Candidate(kind, records[rid], match) for rid, match in found if rid in records]


def _model(kind: str):
    return Partner if kind == "partner" else Contact


def check(kind: str, form) -> GuardResult:
    """The guard for a validated create form: look-alikes, unless already confirmed for
    exactly these names ("Save anyway")."""

    names, emails, cities = draft_names(kind, form)
    profile = draft_profile(kind, names, emails, cities)
    result = GuardResult(digest=digest(profile))
    confirmed = request.form.get("save_anyway") == "1" and (
        request.form.get("duplicates_seen") == result.digest
    )
    result.candidates = _candidates(kind, profile)
    result.confirmed = confirmed and bool(result.candidates)
    return result
