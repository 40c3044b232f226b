"""Reading the audit trail: the admins' log, and what changed since a given version."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.audit.models import AuditEntry
from crm.db import db
from crm.listing import Filter, Sort, int_filter, paginate

RECORD_TYPES = (
    "partner",
    "contact",
    "agreement",
    "project",
    "activity",
    "follow_up",
    "import",
    "export",
    "exchange_rate",
    "document",
)
SORTS = {"at": Sort(_l("When"), [AuditEntry.at], default_desc=True)}


def _kind(query, value):
    if value not in RECORD_TYPES:
        raise ValueError(value)
    return query.where(AuditEntry.record_type == value)


def _day(op):
    def apply(query, value):
        start = datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
        if op == "from":
            return query.where(AuditEntry.at >= start)
        return query.where(AuditEntry.at < start + timedelta(days=1))

    return apply


FILTERS = [
    Filter("user", int_filter(AuditEntry.user_id)),
    Filter("kind", _kind),
    Filter("record", int_filter(AuditEntry.record_id)),
    Filter("from", _day("from")),
    Filter("to", _day("to")),
]


def audit_page(args=None):
    query = select(AuditEntry).options(joinedload(AuditEntry.user))
    return paginate(query, AuditEntry, sorts=SORTS, default_sort="at", filters=FILTERS, args=args)


def changes_since(record_type: str, record_id: int, version: int | None) -> list[AuditEntry]:
    """Entries written after the record was at `version`: what someone else changed."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
        .options(joinedload(AuditEntry.user))
        .order_by(AuditEntry.id)
    )
    if version is not None:
        query = query.where(AuditEntry.version > version)
    return list(db.session.scalars(query.limit(20)))
