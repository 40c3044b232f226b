"""Contacts in spreadsheets: their import and export columns, how a row finds its contact
(by ID, by email, or by any of its names) and how it is applied (names, positions)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.contacts.forms import ContactForm
from crm.contacts.models import Contact, Position
from crm.contacts.queries import contact_list
from crm.dataio import cells
from crm.dataio.cells import fold
from crm.dataio.columns import ID, OWNER, Column, email_cell, names_cell, text_cell
from crm.dataio.kinds import Kind, main_name, named_lookup, set_field
from crm.db import db

contacts_named = named_lookup(Contact, Contact.name, Contact.sort_name, Contact.name_zh)


class ContactKind(Kind):
    key = "contact"
    model = Contact
    list_key = "contacts"
    list_label = _l("Contacts")
    list_query = staticmethod(contact_list)
    required = (("name", "name_zh", "id"),)
    form = ContactForm
    checked_on_create = ("name",)
    name_keys = ("name", "name_zh")
    columns = [
        ID,
        Column(
            "name",
            _l("Name"),
            ("full name", "姓名", "名字", "名称", "联系人", "english name", "英文名"),
            text_cell(200),
            lambda c: c.name,
        ),
        Column(
            "name_zh",
            _l("Chinese name"),
            ("中文名", "中文姓名", "中文名称"),
            text_cell(100),
            lambda c: c.name_zh,
        ),
        Column(
            "email",
            _l("Email"),
            ("e-mail", "mail", "email address", "邮箱", "电子邮箱", "邮件", "电子邮件"),
            email_cell,
            lambda c: c.email,
        ),
        Column(
            "phone",
            _l("Phone"),
            ("tel", "telephone", "mobile", "电话", "手机", "联系电话"),
            text_cell(50),
            lambda c: c.phone,
        ),
        Column(
            "organisation",
            _l("Organisation"),
            ("organization", "company", "employer", "单位", "机构", "公司", "工作单位", "所属机构"),
            names_cell,
            lambda c: "; ".join(p.partner.name_en for p in c.current_positions()) or None,
        ),
        Column(
            "title",
            _l("Title"),
            ("job title", "position", "role", "职务", "职位", "头衔", "职称"),
            lambda v: (
                [t[:300] for t in re.split(r"[;；\n]", cells.cell_text(v))]
                if cells.cell_text(v)
                else None
            ),
            lambda c: "; ".join(p.title for p in c.current_positions()) or None,
        ),
        Column("notes", _l("Notes"), ("备注", "说明"), text_cell(20000), lambda c: c.notes),
        OWNER,
    ]

    def export_options(self):
        return (selectinload(Contact.positions).joinedload(Position.partner),)

    def row_problems(self, values):
        if "title" in values and "organisation" not in values:
            return [("title", str(_l("A title needs the organisation it is held at.")))]
        return []

    def label(self, values):
        return (self.names(values) or [values.get("email") or ""])[0][:300]

    def lookup(self, names):
        return contacts_named(names)

    def partner_names(self, values):
        return list(values.get("organisation", ()))

    def written_keys(self, values):
        keys = super().written_keys(values)
        if values.get("email"):
            keys.add(("email", values["email"]))
        return keys

    def find(self, rows):
        found = super().find(rows)
        emails = {v["email"] for v in rows if "email" in v and "id" not in v}
        if not emails:
            return found
        by_email: dict[str, set[int]] = {}
        for cid, email in db.session.execute(
            select(Contact.id, Contact.email).where(
                Contact.email.in_(emails), Contact.archived_at.is_(None)
            )
        ):
            by_email.setdefault(email, set()).add(cid)
        for i, values in enumerate(rows):
            if "id" not in values and values.get("email") in by_email:
                found[i] = sorted(by_email[values["email"]])
        return found

    def load_options(self):
        # Other names too: refreshing the derived fields reads them.
        return (selectinload(Contact.positions), selectinload(Contact.other_names))

    def apply(self, contact, values, ctx):
        before: dict = {}
        creating = contact.id is None
        name = values.get("name")
        main_name(contact, "name", name, [contact.name, contact.name_zh], creating, before)
        for key in ("name_zh", "email", "phone", "notes"):
            set_field(contact, key, values.get(key), before)
        self.owner(contact, values, ctx, before)
        titles = values.get("title") or []
        new_positions = []
        held = {(p.partner_id, fold(p.title)) for p in contact.positions}
        for i, org in enumerate(values.get("organisation", ())):
            title = (titles[i] if i < len(titles) else "").strip()
            partner_id = ctx.partner_id(org)
            if (partner_id, fold(title)) in held:
                continue
            held.add((partner_id, fold(title)))
            position = Position(partner_id=partner_id, title=title)
            contact.positions.append(position)
            new_positions.append(position)
        if creating:
            db.session.add(contact)
        if before or new_positions or creating:
            contact.refresh_derived()
            contact.stamp(ctx.actor)
        added = {"positions": new_positions} if new_positions else {}
        return {"fields": before, "added": added} if (before or added) else {}
