"""Reads on activities and follow-ups: lists and the activity page."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, or_, select
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
    activity_partner,
)
from crm.agreements.models import Agreement, with_party
from crm.db import db
from crm.listing import (
    Filter,
    Sort,
    archived_filter,
    choice_filter,
    country_code,
    hide_archived,
    int_filter,
    list_query,
    page_of,
    parse_id,
    partner_match_filters,
)
from crm.partners.models import Partner
from crm.projects.models import Project
from crm.projects.models import with_partner as project_with_partner
from crm.records import load_or_404
from crm.text import like_pattern
from crm.vocab import ACTIVITY_KINDS, PARTNER_KINDS

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


def with_partner(conditions):
    """EXISTS a partner linked to the activity that meets `conditions`."""

    link = activity_partner.c
    return exists().where(
        link.activity_id == Activity.id, Partner.id == link.partner_id, *conditions
    )


def partner_filters(args):
    """partner_kind / partner_country: activities linked to a partner of that kind/country."""

    return partner_match_filters(args, with_partner, Partner.kind, Partner.country, PARTNER_KINDS)


def list_filters(args=None) -> list[Filter]:
    """Every filter of the list: the fixed ones and those that read several arguments."""
    return [*FILTERS, *partner_filters(args)]


def activity_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    args = request.args if args is None else args
    query = select(Activity).options(
        joinedload(Activity.owner),
        selectinload(Activity.partner_links).joinedload(ActivityPartner.partner),
    )
    query = hide_archived(query, Activity, args)
    return list_query(
        query, Activity, sorts=SORTS, default_sort="when", filters=list_filters(args), args=args
    )


def activity_page(args=None):
    return page_of(activity_list(args), args=args)


def activity_detail(activity_id: int):
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


def follow_up_about_partner(conditions):
    """Follow-ups about a partner meeting `conditions`, or about an agreement or project
    such a partner is a party to / takes part in."""

    return or_(
        exists().where(Partner.id == FollowUp.partner_id, *conditions),
        exists().where(Agreement.id == FollowUp.agreement_id, with_party(conditions)),
        exists().where(Project.id == FollowUp.project_id, project_with_partner(conditions)),
    )


def follow_up_filters(args) -> tuple[list, dict, dict]:
    """The follow-ups page's filters beyond the assignee: overdue=1, partner_kind and
    partner_country (same meaning as on the other lists). Returns (clauses, kept, errors)."""

    clauses, kept, errors = [], {}, {}
    if args.get("overdue"):
        if args.get("overdue") == "1":
            clauses.append(FollowUp.due_on < date.today())
            kept["overdue"] = "1"
        else:
            errors["overdue"] = args.get("overdue")
    conditions = []
    raw_kind, raw_country = args.get("partner_kind"), args.get("partner_country")
    if raw_kind:
        if raw_kind in PARTNER_KINDS:
            conditions.append(Partner.kind == raw_kind)
            kept["partner_kind"] = raw_kind
        else:
            errors["partner_kind"] = raw_kind
    if raw_country:
        try:
            conditions.append(Partner.country == country_code(raw_country))
            kept["partner_country"] = raw_country
        except ValueError:
            errors["partner_country"] = raw_country
    if conditions:
        clauses.append(follow_up_about_partner(conditions))
    return clauses, kept, errors


def count_open_follow_ups(assignee_id: int | None, clauses=()) -> int:
    """How many open follow-ups match (live ones), for the page's count."""
    query = select(func.count(FollowUp.id)).where(
        FollowUp.archived_at.is_(None), FollowUp.done_on.is_(None), *clauses
    )
    if assignee_id is not None:
        query = query.where(FollowUp.assignee_id == assignee_id)
    return db.session.scalar(query)


def follow_up_queries(assignee_id: int | None, show_done: bool, clauses=()):
    """The follow-ups list's two queries, unbounded: open ones (overdue first, oldest due
    first), then done ones if asked (None otherwise). The page reads the first rows of
    each; the export streams them whole."""
    today = date.today()
    query = (
        select(FollowUp)
        .where(FollowUp.archived_at.is_(None), *clauses)
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


def follow_ups_for(assignee_id: int | None, show_done: bool, limit: int = 200, clauses=()):
    """Open follow-ups, overdue first (oldest due first), then done ones if asked."""
    open_query, done_query = follow_up_queries(assignee_id, show_done, clauses)
    open_items = db.session.scalars(open_query.limit(limit)).all()
    done = db.session.scalars(done_query.limit(limit)).all() if done_query is not None else []
    return open_items, done
