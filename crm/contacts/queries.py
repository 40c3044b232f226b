"""Reads on contacts: the list with filters and sorts, and the detail page's data."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.agreements.models import Agreement, AgreementParty
from crm.contacts.models import Contact, Position
from crm.db import db
from crm.listing import (
    Filter,
    Sort,
    archived_filter,
    hide_archived,
    int_filter,
    list_query,
    page_of,
    parse_id,
)
from crm.records import load_or_404
from crm.text import like_pattern

SORTS = {
    "name": Sort(_l("Name"), [Contact.sort_name]),
    "updated": Sort(_l("Updated"), [Contact.updated_at], default_desc=True),
    "created": Sort(_l("Created"), [Contact.created_at], default_desc=True),
}


def _quick(query, value):
    return query.where(Contact.search_text.like(like_pattern(value), escape="\\"))


def _partner(query, value):
    held = select(Position.contact_id).where(Position.partner_id == parse_id(value))
    return query.where(Contact.id.in_(held))


FILTERS = [
    Filter("q", _quick),
    Filter("partner", _partner),
    Filter("owner", int_filter(Contact.owner_id)),
    Filter("archived", archived_filter(Contact)),
]


def contact_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    query = select(Contact).options(
        joinedload(Contact.owner),
        selectinload(Contact.positions).joinedload(Position.partner),
    )
    query = hide_archived(query, Contact, args)
    return list_query(query, Contact, sorts=SORTS, default_sort="name", filters=FILTERS, args=args)


def contact_page(args=None):
    return page_of(contact_list(args), args=args)


DETAIL_LIMIT = 100


def contact_detail(contact_id: int):
    """The contact with its positions and the agreements they signed, in fixed statements."""

    contact = load_or_404(
        Contact,
        contact_id,
        joinedload(Contact.owner),
        joinedload(Contact.created_by),
        joinedload(Contact.updated_by),
        selectinload(Contact.positions).joinedload(Position.partner),
        selectinload(Contact.other_names),
    )
    signed = db.session.scalars(
        select(AgreementParty)
        .join(AgreementParty.agreement)
        .where(AgreementParty.signatory_id == contact.id, Agreement.archived_at.is_(None))
        .options(joinedload(AgreementParty.agreement), joinedload(AgreementParty.partner))
        .order_by(Agreement.signed_sort.desc(), Agreement.id.desc())
        .limit(DETAIL_LIMIT)
    ).all()
    return {
        "contact": contact,
        "current_positions": contact.current_positions(),
        "past_positions": contact.past_positions(),
        "signed": signed,
        "limit": DETAIL_LIMIT,
    }
