"""Reads on activities and follow-ups: lists and the activity page."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload, selectinload

from crm.activities.models import (
    LINK_TABLES,
    Activity,
    ActivityAgreement,
    ActivityAttendee,
    ActivityContact,
    ActivityPartner,
    ActivityProject,
    FollowUp,
)
from crm.db import db
from crm.listing import (
    Filter,
    Sort,
    archived_filter,
    choice_filter,
    hide_archived,
    int_filter,
    list_query,
    page_of,
    parse_id,
)
from crm.text import like_pattern
from crm.vocab import ACTIVITY_KINDS

SORTS = {
    "when": Sort(_l("When"), [Activity.occurred_at], default_desc=True),
    "updated": Sort(_l("Updated"), [Activity.updated_at], default_desc=True),
}


def _quick(query, value):
    return query.where(Activity.search_text.like(like_pattern(value), escape="\\"))


def _linked(kind):
    table = LINK_TABLES[kind]

    def apply(query, value):
        linked = select(table.c.activity_id).where(table.c[f"{kind}_id"] == parse_id(value))
        return query.where(Activity.id.in_(linked))

    return apply


def _day(op):
    def apply(query, value):
        from datetime import UTC, datetime, time, timedelta

        day = date.fromisoformat(value)
        start = datetime.combine(day, time(0, 0), tzinfo=UTC)
        if op == "from":
            return query.where(Activity.occurred_at >= start)
        return query.where(Activity.occurred_at < start + timedelta(days=1))

    return apply


FILTERS = [
    Filter("q", _quick),
    Filter("kind", choice_filter(Activity.kind, ACTIVITY_KINDS), multi=True),
    Filter("owner", int_filter(Activity.owner_id)),
    Filter("partner", _linked("partner")),
    Filter("contact", _linked("contact")),
    Filter("agreement", _linked("agreement")),
    Filter("project", _linked("project")),
    Filter("from", _day("from")),
    Filter("to", _day("to")),
    Filter("archived", archived_filter(Activity)),
]


def activity_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    query = select(Activity).options(
        joinedload(Activity.owner),
        selectinload(Activity.partner_links).joinedload(ActivityPartner.partner),
    )
    query = hide_archived(query, Activity, args)
    return list_query(query, Activity, sorts=SORTS, default_sort="when", filters=FILTERS, args=args)


def activity_page(args=None):
    return page_of(activity_list(args), args=args)


def activity_detail(activity_id: int):
    from crm.crud import load_or_404

    return load_or_404(
        Activity,
        activity_id,
        joinedload(Activity.owner),
        joinedload(Activity.created_by),
        joinedload(Activity.updated_by),
        selectinload(Activity.attendees).joinedload(ActivityAttendee.contact),
        selectinload(Activity.staff),
        selectinload(Activity.partner_links).joinedload(ActivityPartner.partner),
        selectinload(Activity.contact_links).joinedload(ActivityContact.contact),
        selectinload(Activity.agreement_links).joinedload(ActivityAgreement.agreement),
        selectinload(Activity.project_links).joinedload(ActivityProject.project),
    )


def follow_up_assignee(args, user) -> int | None:
    """Whose follow-ups the URL asks for: a user id, None for everyone, mine by default."""
    raw = args.get("assignee", "")
    if raw == "all":
        return None
    if raw.isdigit() and len(raw) < 10:  # a user id; longer digit strings are not
        return int(raw)
    return user.id


def follow_up_queries(assignee_id: int | None, show_done: bool):
    """The follow-ups list's two queries, unbounded: open ones (overdue first, oldest due
    first), then done ones if asked (None otherwise). The page reads the first rows of
    each; the export streams them whole."""
    today = date.today()
    query = (
        select(FollowUp)
        .where(FollowUp.archived_at.is_(None))
        .options(
            joinedload(FollowUp.assignee),
            joinedload(FollowUp.partner),
            joinedload(FollowUp.contact),
            joinedload(FollowUp.agreement),
            joinedload(FollowUp.project),
        )
    )
    if assignee_id is not None:
        query = query.where(FollowUp.assignee_id == assignee_id)
    open_query = query.where(FollowUp.done_on.is_(None)).order_by(
        case((FollowUp.due_on < today, 0), else_=1), FollowUp.due_on, FollowUp.id
    )
    done_query = None
    if show_done:
        done_query = query.where(FollowUp.done_on.is_not(None)).order_by(
            FollowUp.done_on.desc(), FollowUp.id.desc()
        )
    return open_query, done_query


def follow_ups_for(assignee_id: int | None, show_done: bool, limit: int = 200):
    """Open follow-ups, overdue first (oldest due first), then done ones if asked."""
    open_query, done_query = follow_up_queries(assignee_id, show_done)
    open_items = db.session.scalars(open_query.limit(limit)).all()
    done = db.session.scalars(done_query.limit(limit)).all() if done_query is not None else []
    return open_items, done
