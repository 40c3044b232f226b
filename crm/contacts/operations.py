"""Writes on contacts. Nothing here commits: the view commits once per request."""

from __future__ import annotations

from crm.contacts.models import Contact, ContactName, Position
from crm.db import db
from crm.records import sync_children, sync_names


def save_contact(contact: Contact | None, form, actor, *, may_reassign: bool) -> Contact:
    """Create (contact None) or update a contact and its positions from a ContactForm."""
    creating = contact is None
    contact = contact or Contact()
    contact.name = form.name.data
    contact.name_zh = form.name_zh.data
    contact.email = form.email.data.lower() if form.email.data else None
    contact.phone = form.phone.data
    contact.notes = form.notes.data
    if may_reassign and form.owner.data:
        contact.owner_id = form.owner.data

    def apply(row, position):
        position.partner_id = row.partner.data
        position.title = row.title.data or ""
        position.start_date = row.start_date.data
        position.end_date = row.end_date.data

    sync_children(contact.positions, form.positions.filled(), Position, apply)
    sync_names(contact.other_names, form.other_names.filled(), ContactName)
    contact.refresh_derived()
    contact.stamp(actor)
    if creating:
        db.session.add(contact)
    db.session.flush()
    return contact
