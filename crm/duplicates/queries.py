"""Reads for the duplicates page: likely pairs, most similar first, keyset-paged."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.contacts.models import Contact
from crm.db import db
from crm.duplicates.models import KINDS, DuplicatePair
from crm.listing import Filter, Sort, choice_filter, paginate
from crm.partners.models import Partner

KIND_LABELS = {"partner": _l("Partners"), "contact": _l("Contacts")}
# Only index-backed sorts (see the indexes on DuplicatePair).
SORTS = {"score": Sort(_l("Similarity"), [DuplicatePair.score], default_desc=True)}


def _dismissed(query, value):
    if value != "only":
        raise ValueError(value)
    return query


FILTERS = [
    Filter("kind", choice_filter(DuplicatePair.kind, KIND_LABELS), multi=True),
    Filter("dismissed", _dismissed),
]


@dataclass
class PairRow:
    pair: DuplicatePair
    a: object | None  # the record with the lower id
    b: object | None

    @property
    def id(self):
        return self.pair.id


def pair_page(args):
    """The page of pairs the URL asks for, each with its two records (fixed statements)."""

    query = select(DuplicatePair).options(joinedload(DuplicatePair.dismissed_by))
    if args.get("dismissed") == "only":
        query = query.where(DuplicatePair.dismissed_at.is_not(None))
    else:
        query = query.where(DuplicatePair.dismissed_at.is_(None))
    page = paginate(
        query, DuplicatePair, sorts=SORTS, default_sort="score", filters=FILTERS, args=args
    )
    wanted: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for pair in page.rows:
        wanted[pair.kind].update((pair.low_id, pair.high_id))
    records: dict[tuple[str, int], object] = {}
    for kind, model in (("partner", Partner), ("contact", Contact)):
        if wanted[kind]:
            for record in db.session.scalars(select(model).where(model.id.in_(wanted[kind]))):
                records[(kind, record.id)] = record
    page.rows = [
        PairRow(p, records.get((p.kind, p.low_id)), records.get((p.kind, p.high_id)))
        for p in page.rows
    ]
    return page


def open_pairs_of(kind: str, record_id: int, limit: int = 10) -> list[tuple[int, DuplicatePair]]:
    """(other record id, pair) of the record's open pairs, most similar first."""
    pairs = db.session.scalars(
        select(DuplicatePair)
        .where(
            DuplicatePair.kind == kind,
            DuplicatePair.dismissed_at.is_(None),
            (DuplicatePair.low_id == record_id) | (DuplicatePair.high_id == record_id),
        )
        .order_by(DuplicatePair.score.desc(), DuplicatePair.id)
        .limit(limit)
    ).all()
    return [(p.high_id if p.low_id == record_id else p.low_id, p) for p in pairs]
