"""A record's timeline: activities, follow-ups, milestones, agreement dates and changes,
newest first, filterable by type, paged by keyset.

Each source is read with its own index-backed query (newest first, after the cursor,
limited to one page), then the sources are merged: a partner with 20,000 activities reads
the same few rows as one with 20, and the number of statements is fixed.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, literal, or_, select, tuple_
from sqlalchemy.orm import selectinload

from crm.activities.models import LINK_TABLES, Activity, ActivityAttendee, FollowUp
from crm.agreements.models import Agreement
from crm.audit.models import AuditEntry
from crm.db import db
from crm.listing import MAX_ID
from crm.projects.models import Milestone

PAGE = 25
# Order among items at the same moment (and the filter vocabulary).
TYPES = {
    "change": (0, _l("Changes")),
    "date": (1, _l("Agreement dates")),
    "milestone": (2, _l("Milestones")),
    "follow_up": (3, _l("Follow-ups")),
    "activity": (4, _l("Activities")),
}
FOLLOW_UP_COLUMN = {
    "partner": FollowUp.partner_id,
    "contact": FollowUp.contact_id,
    "agreement": FollowUp.agreement_id,
    "project": FollowUp.project_id,
}


@dataclass
class Item:
    ts: datetime
    type: str
    id: int
    obj: object = None
    label: str = ""

    @property
    def key(self):
        return (self.ts, TYPES[self.type][0], self.id)


@dataclass
class Timeline:
    items: list[Item]
    next_cursor: str | None
    types: list[str]
    available: list[str]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def encode_cursor(item: Item) -> str:
    raw = json.dumps([item.ts.isoformat(), item.type, item.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str | None):
    if not raw:
        return None

    try:
        ts, kind, rid = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        ts = datetime.fromisoformat(ts)
        if ts.tzinfo is None or kind not in TYPES:
            return None
        if not isinstance(rid, int) or isinstance(rid, bool) or abs(rid) > MAX_ID:
            return None
        # Compared in UTC: a time that leaves the calendar there raises OverflowError.
        ts.astimezone(UTC)
        return ts, TYPES[kind][0], rid
    # A hand-made cursor may be anything, nested thousands deep included.
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        return None


def _before(ts_col, id_col, rank: int, cursor):
    """SQL: (ts, rank, id) < cursor, for a source whose rank is fixed."""
    if cursor is None:
        return None
    c_ts, c_rank, c_id = cursor
    if rank < c_rank:
        return ts_col <= c_ts
    if rank > c_rank:
        return ts_col < c_ts
    return tuple_(ts_col, id_col) < tuple_(literal(c_ts, type_=ts_col.type), literal(c_id))


def _before_day(day_col, id_col, rank: int, cursor):
    """As `_before`, for a date column standing for midnight UTC of that day."""
    if cursor is None:
        return None
    c_ts, c_rank, c_id = cursor
    c_day = c_ts.astimezone(UTC).date()
    at_midnight = c_ts.astimezone(UTC).time() == time(0, 0)
    if not at_midnight:
        return day_col <= c_day
    if rank < c_rank:
        return day_col <= c_day
    if rank > c_rank:
        return day_col < c_day
    return or_(day_col < c_day, and_(day_col == c_day, id_col < c_id))


def _where(query, condition):
    return query if condition is None else query.where(condition)


def _activities(kind, record_id, cursor, limit):
    link = LINK_TABLES[kind]
    rank = TYPES["activity"][0]
    query = select(link.c.occurred_at, link.c.activity_id).where(link.c[f"{kind}_id"] == record_id)
    query = _where(query, _before(link.c.occurred_at, link.c.activity_id, rank, cursor))
    rows = db.session.execute(
        query.order_by(link.c.occurred_at.desc(), link.c.activity_id.desc()).limit(limit)
    ).all()
    return [Item(ts, "activity", aid) for ts, aid in rows]


def _follow_ups(kind, record_id, cursor, limit):
    column = FOLLOW_UP_COLUMN[kind]
    rank = TYPES["follow_up"][0]
    query = select(FollowUp.due_on, FollowUp.id).where(
        column == record_id, FollowUp.archived_at.is_(None)
    )
    query = _where(query, _before_day(FollowUp.due_on, FollowUp.id, rank, cursor))
    rows = db.session.execute(
        query.order_by(FollowUp.due_on.desc(), FollowUp.id.desc()).limit(limit)
    ).all()
    return [Item(_midnight(day), "follow_up", fid) for day, fid in rows]


def _milestones(kind, record_id, cursor, limit):
    if kind != "project":
        return []
    rank = TYPES["milestone"][0]
    query = select(Milestone.due_on, Milestone.id).where(
        Milestone.project_id == record_id, Milestone.due_on.is_not(None)
    )
    query = _where(query, _before_day(Milestone.due_on, Milestone.id, rank, cursor))
    rows = db.session.execute(
        query.order_by(Milestone.due_on.desc(), Milestone.id.desc()).limit(limit)
    ).all()
    return [Item(_midnight(day), "milestone", mid) for day, mid in rows]


AGREEMENT_DATES = {
    1: _l("Signed"),
    2: _l("In force from"),
    3: _l("Notice deadline"),
    4: _l("Expires"),
}


def _agreement_dates(kind, record_id, cursor, limit, agreement=None):
    if kind != "agreement":
        return []
    agreement = agreement or db.session.get(Agreement, record_id)
    if agreement is None:
        return []
    days = {
        1: agreement.signed_on,
        2: agreement.effective_from if agreement.stage == "signed" else None,
        3: agreement.notice_deadline() if agreement.stage == "signed" else None,
        4: agreement.current_term_end() if agreement.stage == "signed" else None,
    }
    items = [
        Item(_midnight(day), "date", n, label=AGREEMENT_DATES[n]) for n, day in days.items() if day
    ]
    if cursor is not None:
        items = [i for i in items if i.key < cursor]
    return items


def _changes(kind, record_id, cursor, limit):
    rank = TYPES["change"][0]
    query = select(AuditEntry.at, AuditEntry.id).where(
        AuditEntry.record_type == kind, AuditEntry.record_id == record_id
    )
    query = _where(query, _before(AuditEntry.at, AuditEntry.id, rank, cursor))
    rows = db.session.execute(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    ).all()
    return [Item(at, "change", eid) for at, eid in rows]


SOURCES = {
    "activity": _activities,
    "follow_up": _follow_ups,
    "milestone": _milestones,
    "date": _agreement_dates,
    "change": _changes,
}
AVAILABLE = {
    "partner": ["activity", "follow_up", "change"],
    "contact": ["activity", "follow_up", "change"],
    "agreement": ["activity", "follow_up", "date", "change"],
    "project": ["activity", "follow_up", "milestone", "change"],
}


def timeline(kind: str, record_id: int, args, page: int = PAGE) -> Timeline:
    """The page of `kind` #record_id's timeline that the URL arguments ask for."""
    available = AVAILABLE[kind]
    chosen = [t for t in args.getlist("tl") if t in available] or list(available)
    cursor = decode_cursor(args.get("tl_after"))
    items: list[Item] = []
    for source in chosen:
        items.extend(SOURCES[source](kind, record_id, cursor, page + 1))
    for item in items:
        if item.ts.tzinfo is None:
            item.ts = item.ts.replace(tzinfo=UTC)
    items.sort(key=lambda i: i.key, reverse=True)
    more = len(items) > page
    items = items[:page]
    _load(items)
    next_cursor = encode_cursor(items[-1]) if more and items else None
    return Timeline(items, next_cursor, chosen, available)


def _load(items: list[Item]) -> None:
    """Attach each item's object, one query per type on the page."""

    wanted: dict[str, list[int]] = {}
    for item in items:
        wanted.setdefault(item.type, []).append(item.id)
    loaded = {}
    if ids := wanted.get("activity"):
        loaded["activity"] = {
            a.id: a
            for a in db.session.scalars(
                select(Activity)
                .where(Activity.id.in_(ids))
                .options(selectinload(Activity.attendees).joinedload(ActivityAttendee.contact))
            )
        }
    if ids := wanted.get("follow_up"):
        loaded["follow_up"] = {
            f.id: f
            for f in db.session.scalars(
                select(FollowUp)
                .where(FollowUp.id.in_(ids))
                .options(selectinload(FollowUp.assignee))
            )
        }
    if ids := wanted.get("milestone"):
        loaded["milestone"] = {
            m.id: m for m in db.session.scalars(select(Milestone).where(Milestone.id.in_(ids)))
        }
    if ids := wanted.get("change"):
        loaded["change"] = {
            e.id: e
            for e in db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id.in_(ids))
                .options(selectinload(AuditEntry.user))
            )
        }
    for item in items:
        item.obj = loaded.get(item.type, {}).get(item.id)
