"""Reads on partners: the list with its filters and sorts, and the detail page's data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload

from crm.activities.models import Activity, activity_partner
from crm.agreements.models import Agreement, AgreementParty
from crm.contacts.models import Position
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
)
from crm.partners.models import Partner, Tag, partner_tag
from crm.projects.models import Project, ProjectPartner
from crm.records import load_or_404
from crm.text import like_pattern
from crm.vocab import PARTNER_KINDS, PARTNER_STATUSES

SORTS = {
    "name": Sort(_l("Name"), [Partner.sort_name]),
    "kind": Sort(_l("Kind"), [Partner.kind, Partner.sort_name]),
    "status": Sort(_l("Relationship"), [Partner.status, Partner.sort_name]),
    "country": Sort(_l("Country"), [Partner.country, Partner.sort_name]),
    "updated": Sort(_l("Updated"), [Partner.updated_at], default_desc=True),
    "created": Sort(_l("Created"), [Partner.created_at], default_desc=True),
}


def _quick(query, value):
    return query.where(Partner.search_text.like(like_pattern(value), escape="\\"))


def _country(query, value):
    if value == "none":  # no country recorded
        return query.where(Partner.country == "")
    if len(value) != 2 or not value.isalpha():
        raise ValueError(value)
    return query.where(Partner.country == value.upper())


def _tag(query, value):
    # No tag holds a control character (the form refuses them), and PostgreSQL cannot
    # even compare with a NUL.
    if len(value) > 80 or any(ord(ch) < 32 for ch in value):
        raise ValueError(value)
    tagged = select(partner_tag.c.partner_id).join(Tag).where(Tag.name == value)
    return query.where(Partner.id.in_(tagged))


def _created(op):
    """created_from / created_to: whole UTC days on Partner.created_at; bad dates raise."""

    def apply(query, value):
        start = datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
        if op == "from":
            return query.where(Partner.created_at >= start)
        return query.where(Partner.created_at < start + timedelta(days=1))

    return apply


def _silent_since(query, value):
    """Partners with no activity linked on or after that day (UTC): "going cold"."""

    start = datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
    link = activity_partner.c
    return query.where(~exists().where(link.partner_id == Partner.id, link.occurred_at >= start))


def active_between(start: date, end: date):
    """Partners active in a period: a live activity linked to them took place in it, or a
    live agreement they are a party to was signed in it (the dashboard's "partners
    active" and the list's `active` filter share this clause).

    Read from the events' side (activities by time, agreements by signing day, both
    indexed), so the cost follows the period's events, not the number of partners.
    """
    return Partner.id.in_(partners_met_or_signed(start, end))


def partners_met_or_signed(start: date, end: date):
    """The ids (`partner_id`, possibly of archived partners) of the partners a live activity
    in the period is linked to, and of the parties to live agreements signed in it: the
    events `active_between` reads (a UNION, so each partner once)."""

    link = activity_partner.c
    met = (
        select(link.partner_id)
        .join(Activity, Activity.id == link.activity_id)
        .where(
            Activity.occurred_at >= datetime.combine(start, time(0, 0), tzinfo=UTC),
            Activity.occurred_at
            < datetime.combine(end + timedelta(days=1), time(0, 0), tzinfo=UTC),
            Activity.archived_at.is_(None),
        )
    )
    signed = (
        select(AgreementParty.partner_id)
        .join(Agreement, Agreement.id == AgreementParty.agreement_id)
        .where(
            Agreement.signed_on >= start,
            Agreement.signed_on <= end,
            Agreement.archived_at.is_(None),
        )
    )
    return met.union(signed)


def _active(query, value):
    """active=FROM..TO (ISO days): partners active in that period (see active_between)."""
    start, sep, end = value.partition("..")
    if not sep:
        raise ValueError(value)
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise ValueError(value)
    return query.where(active_between(first, last))


def _own(query, value):
    if value != "1":
        raise ValueError(value)
    return query.where(Partner.is_own.is_(True))


FILTERS = [
    Filter("q", _quick),
    Filter("kind", choice_filter(Partner.kind, PARTNER_KINDS), multi=True),
    Filter("status", choice_filter(Partner.status, PARTNER_STATUSES), multi=True),
    Filter("country", _country),
    Filter("owner", int_filter(Partner.owner_id)),
    Filter("parent", int_filter(Partner.parent_id)),
    Filter("tag", _tag),
    Filter("own", _own),
    Filter("created_from", _created("from")),
    Filter("silent_since", _silent_since),
    Filter("active", _active),
    Filter("created_to", _created("to")),
    Filter("archived", archived_filter(Partner)),
]


def partner_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    query = select(Partner).options(joinedload(Partner.owner), selectinload(Partner.tags))
    query = hide_archived(query, Partner, args)
    return list_query(query, Partner, sorts=SORTS, default_sort="name", filters=FILTERS, args=args)


def partner_page(args=None):
    return page_of(partner_list(args), args=args)


DETAIL_LIMIT = 100


def partner_detail(partner_id: int):
    """The partner with everything its page shows, in a fixed number of statements."""

    partner = load_or_404(
        Partner,
        partner_id,
        joinedload(Partner.parent),
        joinedload(Partner.owner),
        joinedload(Partner.created_by),
        joinedload(Partner.updated_by),
        selectinload(Partner.other_names),
        selectinload(Partner.tags),
        selectinload(Partner.figures),
    )
    children = db.session.scalars(
        select(Partner)
        .where(Partner.parent_id == partner.id, Partner.archived_at.is_(None))
        .order_by(Partner.sort_name, Partner.id)
        .limit(DETAIL_LIMIT)
    ).all()
    positions = db.session.scalars(
        select(Position)
        .where(Position.partner_id == partner.id)
        .options(joinedload(Position.contact))
        .order_by(Position.end_date.is_not(None), Position.end_date.desc(), Position.id)
        .limit(DETAIL_LIMIT)
    ).all()
    parties = db.session.scalars(
        select(AgreementParty)
        .join(AgreementParty.agreement)
        .where(AgreementParty.partner_id == partner.id, Agreement.archived_at.is_(None))
        .options(joinedload(AgreementParty.agreement), joinedload(AgreementParty.signatory))
        .order_by(Agreement.signed_sort.desc(), Agreement.id.desc())
        .limit(DETAIL_LIMIT)
    ).all()
    project_links = db.session.scalars(
        select(ProjectPartner)
        .join(ProjectPartner.project)
        .where(ProjectPartner.partner_id == partner.id, Project.archived_at.is_(None))
        .options(joinedload(ProjectPartner.project))
        .order_by(Project.start_sort.desc(), Project.id.desc())
        .limit(DETAIL_LIMIT)
    ).all()
    return {
        "partner": partner,
        "children": children,
        "current_people": [p for p in positions if p.is_current()],
        "past_people": [p for p in positions if not p.is_current()],
        "parties": parties,
        "project_links": project_links,
        "limit": DETAIL_LIMIT,
    }
