"""The columns of each kind of record, shared by exports and imports.

An export writes a kind's columns under their labels; an import recognises the same labels
(in English or Chinese) and the usual spreadsheet words for them (名称, 中文名, 国家, 邮箱,
职务, 单位 ...), so an exported file imports back onto the same records unchanged.

For each importable kind: how a row's cells become values (with a message per bad cell),
how a row finds its likely existing record (by ID, or by any of its names; contacts by
email first), and how the values are applied to a new or existing record. Applying never
clears a field with an empty cell and never removes a link: it sets what differs and adds
what is missing, and says what it replaced, which is what undo puts back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from crm.agreements.models import Agreement, AgreementParty
from crm.audit.trail import plain
from crm.auth.models import User
from crm.contacts.models import Contact, Position
from crm.dataio import cells
from crm.dataio.cells import CellError, fold
from crm.db import db
from crm.partners.models import Partner, PartnerName, Tag
from crm.projects.models import Project, ProjectPartner
from crm.vocab import (
    AGREEMENT_STAGES,
    AGREEMENT_TYPES,
    CURRENCIES,
    PARTNER_KINDS,
    PARTNER_STATUSES,
    PARTY_ROLES,
    PROJECT_ROLES,
    PROJECT_STATUSES,
)


class RowError(Exception):
    """A row that cannot be applied, with the reason shown in the report."""


@dataclass(frozen=True)
class Column:
    """A column of a kind: its header, the words that mean it, how to read and write it."""

    key: str
    label: object
    aliases: tuple[str, ...] = ()
    parse: Callable | None = None
    export: Callable | None = None

    def header_forms(self) -> set[str]:
        return cells.label_forms(self.label) | {fold(a) for a in self.aliases} | {fold(self.key)}


def _text(n):
    return lambda v: cells.text_value(v, n)


def _vocab(vocabulary):
    return lambda v: cells.vocab_value(v, vocabulary)


def _label(vocabulary):
    """A code's label in the request's language, translated once per request and code
    (an export of a million rows would otherwise translate every cell)."""

    def label(code):
        if not code:
            return None
        known = g.setdefault("vocabulary_labels", {})
        key = (id(vocabulary), code)
        if key not in known:
            known[key] = str(vocabulary.get(code, code))
        return known[key]

    return label


def _currency(value):
    text = cells.cell_text(value).upper()
    if not text:
        return None
    if text not in CURRENCIES:
        raise CellError(
            _l(
                "“%(value)s” is not one of: %(known)s.",
                value=text[:10],
                known=", ".join(CURRENCIES),
            )
        )
    return text


def _email(value):
    from email_validator import EmailNotValidError, validate_email

    text = cells.text_value(value, 254)
    if text is None:
        return None
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise CellError(_l("“%(value)s” is not an email address.", value=text[:60])) from None
    return text.lower()


def _website(value):
    text = cells.text_value(value, 500)
    if text and not text.lower().startswith(("http://", "https://")):
        raise CellError(_l("Start the address with http:// or https://"))
    return text


def _id(value):
    text = cells.cell_text(value)
    if not text:
        return None
    from crm.listing import parse_id

    try:
        return parse_id(text)
    except ValueError:
        raise CellError(_l("“%(value)s” is not an ID.", value=text[:20])) from None


def _names(value):
    return [name[:300] for name in cells.split_list(value)] or None


def _tags(value):
    text = cells.cell_text(value).replace("，", ",").replace(";", ",")
    names = {}
    for raw in text.split(","):
        name = " ".join(raw.split())[:80]
        if name:
            names.setdefault(name.casefold(), name)
    return list(names.values()) or None


def _roles(vocabulary, default):
    def parse(value):
        pairs = cells.split_roles(value, vocabulary, default)
        return [(name[:300], role) for name, role in pairs] or None

    return parse


def _with_roles(links, vocabulary):
    return "; ".join(f"{link.partner.name_en} [{vocabulary[link.role]}]" for link in links) or None


def _owner_email(record):
    return record.owner.email if record.owner else None


ID = Column("id", _l("ID"), ("id", "编号", "record id"), _id, lambda r: r.id)
OWNER = Column("owner", _l("Owner"), ("负责人", "owner email"), _text(254), _owner_email)


# --- name lookups ---------------------------------------------------------------------


def _forms(names) -> set[str]:
    """The raw forms a stored name may have: as typed and width-folded."""
    import unicodedata

    found = set()
    for name in names:
        if name:
            found.add(name)
            found.add(unicodedata.normalize("NFKC", name))
    return found


def partners_named(names) -> dict[str, set[int]]:
    """Live partners by any of their names: folded name -> ids (one query per name form)."""
    names = [n for n in names if n]
    if not names:
        return {}
    raw, folded = _forms(names), {fold(n) for n in names}
    casefolded = {n.strip().casefold()[:300] for n in raw}
    live = Partner.archived_at.is_(None)
    # One statement, each branch served by its own index.
    query = union_all(
        select(Partner.id, Partner.name_en).where(Partner.sort_name.in_(casefolded), live),
        select(Partner.id, Partner.name_zh).where(Partner.name_zh.in_(raw), live),
        select(PartnerName.partner_id, PartnerName.name)
        .join(Partner, Partner.id == PartnerName.partner_id)
        .where(PartnerName.name.in_(raw), live),
    )
    found: dict[str, set[int]] = {}
    for pid, name in db.session.execute(query):
        if fold(name) in folded:
            found.setdefault(fold(name), set()).add(pid)
    return found


def _two_names(model, main, sort_col, zh) -> Callable[[list[str]], dict[str, set[int]]]:
    def lookup(names):
        names = [n for n in names if n]
        if not names:
            return {}
        raw, folded = _forms(names), {fold(n) for n in names}
        live = model.archived_at.is_(None)
        query = union_all(
            select(model.id, main).where(sort_col.in_({n.strip().casefold() for n in raw}), live),
            select(model.id, zh).where(zh.in_(raw), live),
        )
        found: dict[str, set[int]] = {}
        for rid, name in db.session.execute(query):
            if fold(name) in folded:
                found.setdefault(fold(name), set()).add(rid)
        return found

    return lookup


agreements_named = _two_names(Agreement, Agreement.title, Agreement.sort_title, Agreement.title_zh)
projects_named = _two_names(Project, Project.name, Project.sort_name, Project.name_zh)
contacts_named = _two_names(Contact, Contact.name, Contact.sort_name, Contact.name_zh)


class Context:
    """What applying rows needs besides the row: who imports, what they chose, and the
    partners created along the way (to be recorded for undo)."""

    def __init__(self, actor, *, may_reassign: bool, create_partners: bool):
        self.actor = actor
        self.may_reassign = may_reassign
        self.create_partners = create_partners
        self.created_partners: list[Partner] = []
        self._users: dict[str, int | None] = {}
        # Partner lookups by folded name, filled a batch of rows at a time (`prefetch`)
        # and by the partners created meanwhile; `forget` empties it when a savepoint is
        # rolled back (the partners created inside it are gone).
        self._partners: dict[str, set[int]] = {}
        self._loaded: list[Partner] = []

    def prefetch(self, names) -> None:
        """Look up these partner names at once (one statement) for the rows to come, and
        load the partners found, so their links' audit labels need no query each."""
        wanted = {n for n in names if n and fold(n) not in self._partners}
        if not wanted:
            return
        found = partners_named(sorted(wanted))
        for name in wanted:
            self._partners[fold(name)] = set(found.get(fold(name), ()))
        ids = sorted({pid for pids in found.values() for pid in pids})
        for start in range(0, len(ids), 500):
            self._loaded += db.session.scalars(
                select(Partner).where(Partner.id.in_(ids[start : start + 500]))
            ).all()

    def would_create(self, name: str) -> bool:
        """Whether naming this partner creates it (as far as the lookups made so far
        know: unknown names count as created)."""
        return self.create_partners and not self._partners.get(fold(name))

    def forget(self) -> None:
        self._partners.clear()
        self._loaded.clear()

    def owner_id(self, text: str) -> int:
        key = text.casefold()
        if key not in self._users:
            user_id = db.session.scalar(
                select(User.id)
                .where(or_(func.lower(User.email) == key, func.lower(User.name) == key))
                .limit(1)
            )
            self._users[key] = user_id
        if self._users[key] is None:
            raise RowError(str(_l("No user is called “%(name)s”.", name=text[:60])))
        return self._users[key]

    def partner_id(self, name: str) -> int:
        """The one live partner with this name, created if allowed and there is none."""
        key = fold(name)
        if key not in self._partners:
            self._partners[key] = set(partners_named([name]).get(key, set()))
        ids = self._partners[key]
        if len(ids) == 1:
            return next(iter(ids))
        if len(ids) > 1:
            raise RowError(
                str(
                    _l(
                        "“%(name)s” is the name of several partners: use a more exact name.",
                        name=name,
                    )
                )
            )
        if not self.create_partners:
            raise RowError(str(_l("No partner is called “%(name)s”.", name=name)))
        partner = Partner(name_en=name, kind="other", status="prospect")
        partner.refresh_derived()
        partner.stamp(self.actor)
        db.session.add(partner)
        db.session.flush()
        self.created_partners.append(partner)
        self._partners[key] = {partner.id}
        return partner.id


_FIELD_FORMS: dict[tuple, type] = {}


def _field_form(where: tuple[str, str], keys: tuple[str, ...]) -> type:
    """A form of only these fields of a record's form (its own field definitions, so its
    validators and messages, in the user's language), without CSRF: made once."""
    cached = _FIELD_FORMS.get((where, keys))
    if cached is None:
        import importlib

        from flask_wtf import FlaskForm

        source = getattr(importlib.import_module(where[0]), where[1])
        fields = {key: getattr(source, key) for key in keys}

        class Meta:
            csrf = False

        cached = type(f"{where[1]}Fields", (FlaskForm,), {"Meta": Meta, **fields})
        _FIELD_FORMS[(where, keys)] = cached
    return cached


def _main_name(record, key: str, value, names: list, creating: bool, before: dict) -> None:
    """Set a record's main name, unless the value is one of the names it already has (the
    row found it by its Chinese or other name: that is no reason to rename it)."""
    if value is None or (not creating and fold(value) in {fold(n) for n in names if n}):
        return
    _set(record, key, value, before)


def _set(record, key: str, value, before: dict) -> None:
    """Set a field that differs, remembering its old value once."""
    if value is None:
        return
    current = getattr(record, key)
    if current == value:
        return
    before.setdefault(key, plain(current))
    setattr(record, key, value)


def _check_order(start: date | None, end: date | None, message) -> None:
    if start and end and end < start:
        raise RowError(str(message))


# --- the kinds --------------------------------------------------------------------------


class Kind:
    """An importable (and exportable) kind of record."""

    key: str
    model: type
    columns: list[Column]
    required: tuple[tuple[str, ...], ...] = ()  # each tuple: at least one of these mapped
    export_options: tuple = ()

    def column(self, key: str) -> Column:
        by_key = self.__dict__.get("_columns_by_key")
        if by_key is None:
            by_key = self.__dict__["_columns_by_key"] = {c.key: c for c in self.columns}
        return by_key[key]

    def importable(self) -> list[Column]:
        return [c for c in self.columns if c.parse is not None]

    def parse(self, row: list, mapping: dict[int, str]) -> tuple[dict, list[tuple[str, str]]]:
        values, errors = {}, []
        for index, key in mapping.items():
            raw = row[index] if index < len(row) else None
            column = self.column(key)
            try:
                value = column.parse(raw)
            except CellError as exc:
                errors.append((key, str(exc)))
                continue
            if value is not None:
                values[key] = value
        errors += [(k, m) for k, m in self.row_problems(values)]
        return values, errors

    def row_problems(self, values: dict) -> list[tuple[str, str]]:
        return []

    # The record's form (module, class) and the fields of it whose own validators judge a
    # row that creates a record: what the form demands (the English name ...), the import
    # demands, with the form's message, instead of filling it from another column.
    form: tuple[str, str] = ("", "")
    checked_on_create: tuple[str, ...] = ()

    def create_problems(self, values: dict) -> list[tuple[str, str]]:
        """(key, message) for each checked field the form would refuse in a new record."""
        if not self.checked_on_create:
            return []
        form = _field_form(self.form, self.checked_on_create)(
            formdata=None, data={k: values.get(k) for k in self.checked_on_create}
        )
        problems = []
        for key in self.checked_on_create:
            field = form[key]
            if not field.validate(form):
                problems.append((key, str(field.errors[0])))
        return problems

    def names(self, values: dict) -> list[str]:
        raise NotImplementedError

    def label(self, values: dict) -> str:
        names = self.names(values)
        return (names[0] if names else "")[:300]

    def key_of(self, values: dict) -> str | None:
        names = self.names(values)
        return fold(names[0])[:300] if names else None

    def lookup(self, names: list[str]) -> dict[str, set[int]]:
        raise NotImplementedError

    def partner_names(self, values: dict) -> list[str]:
        """The partners a row refers to by name (looked up, or created, by `Context`)."""
        return []

    def written_keys(self, values: dict) -> set[tuple[str, str]]:
        """What a row writes that a later row may be found by: its names (and email)."""
        return {("name", fold(n)) for n in self.names(values)}

    def read_keys(self, values: dict) -> set[tuple[str, str]]:
        """What finding a row's match, or its references of its own kind, reads."""
        return self.written_keys(values)

    def created_keys(self, values: dict, ctx: Context) -> set[tuple[str, str]]:
        """Names of its own kind a row will create besides itself (a missing parent)."""
        return set()

    def find(self, rows: list[dict]) -> list[list[int]]:
        """Likely existing records for each row: by ID, else by any of its names."""
        by_id = {v["id"] for v in rows if "id" in v}
        live: dict[int, int] = {}
        if by_id:
            model = self.model
            merged = getattr(model, "merged_into_id", None)
            columns = [model.id] + ([merged] if merged is not None else [])
            for rid, *rest in db.session.execute(select(*columns).where(model.id.in_(by_id))):
                live[rid] = rest[0] if rest and rest[0] else rid
        names = {n for v in rows if "id" not in v for n in self.names(v)}
        named = self.lookup(sorted(names)) if names else {}
        found = []
        for values in rows:
            if "id" in values:
                found.append([live[values["id"]]] if values["id"] in live else [])
                continue
            ids = set()
            for name in self.names(values):
                ids |= named.get(fold(name), set())
            found.append(sorted(ids))
        return found

    def id_problem(self, values: dict, matches: list[int]) -> str | None:
        if "id" in values and not matches:
            return str(_l("No record has the ID %(id)s.", id=values["id"]))
        return None

    def new(self):
        return self.model()

    def apply(self, record, values: dict, ctx: Context) -> dict:
        """Set the row's values on a new or loaded record (nothing flushed yet): what it
        replaced, {"fields": {key: old}, "added": {link: [new link rows or ids]}}, or {}
        when nothing changed. `settled` turns it into what undo keeps, after a flush."""
        raise NotImplementedError

    def load_options(self) -> tuple:
        return ()

    def load(self, record_id: int):
        return db.session.scalar(
            select(self.model).where(self.model.id == record_id).options(*self.load_options())
        )

    def load_many(self, ids) -> dict[int, object]:
        """Records by id, with what `apply` reads, in one statement per 500."""
        ids = sorted(set(ids))
        found = {}
        for start in range(0, len(ids), 500):
            for record in db.session.scalars(
                select(self.model)
                .where(self.model.id.in_(ids[start : start + 500]))
                .options(*self.load_options())
            ):
                found[record.id] = record
        return found

    def owner(self, record, values: dict, ctx: Context, before: dict) -> None:
        if "owner" in values and ctx.may_reassign:
            _set(record, "owner_id", ctx.owner_id(values["owner"]), before)


class PartnerKind(Kind):
    key = "partner"
    model = Partner
    required = (("name_en", "name_zh", "id"),)
    form = ("crm.partners.forms", "PartnerForm")
    checked_on_create = ("name_en",)
    columns = [
        ID,
        Column(
            "name_en",
            _l("English name"),
            (
                "name",
                "organisation",
                "organization",
                "名称",
                "英文名",
                "英文名称",
                "机构名称",
                "单位",
                "单位名称",
            ),
            _text(300),
            lambda p: p.name_en,
        ),
        Column(
            "name_zh", _l("Chinese name"), ("中文名", "中文名称"), _text(200), lambda p: p.name_zh
        ),
        Column(
            "other_names",
            _l("Other names"),
            ("aliases", "alias", "abbreviation", "别名", "简称", "其他名称"),
            _names,
            lambda p: "; ".join(n.name for n in p.other_names) or None,
        ),
        Column(
            "kind",
            _l("Kind"),
            ("type", "类型", "类别", "机构类型"),
            _vocab(PARTNER_KINDS),
            lambda p: _label(PARTNER_KINDS)(p.kind),
        ),
        Column(
            "status",
            _l("Relationship"),
            ("status", "状态", "合作关系", "关系"),
            _vocab(PARTNER_STATUSES),
            lambda p: _label(PARTNER_STATUSES)(p.status),
        ),
        Column(
            "country",
            _l("Country"),
            ("国家", "国家/地区", "country code"),
            cells.country_value,
            lambda p: p.country or None,
        ),
        Column(
            "city", _l("City or region"), ("city", "城市", "地区"), _text(200), lambda p: p.city
        ),
        Column(
            "website", _l("Website"), ("url", "web", "网址", "网站"), _website, lambda p: p.website
        ),
        Column(
            "tags",
            _l("Sector tags"),
            ("tags", "sector", "sectors", "行业", "标签"),
            _tags,
            lambda p: ", ".join(t.name for t in p.tags) or None,
        ),
        Column(
            "parent",
            _l("Parent organisation"),
            ("parent", "上级", "上级单位", "上级机构"),
            _text(300),
            lambda p: p.parent.name_en if p.parent else None,
        ),
        Column(
            "description",
            _l("Description"),
            ("描述", "简介", "说明"),
            _text(20000),
            lambda p: p.description,
        ),
        OWNER,
    ]
    export_options = (
        selectinload(Partner.other_names),
        joinedload(Partner.parent),
    )

    def names(self, values):
        return [
            n
            for n in (values.get("name_en"), values.get("name_zh"), *values.get("other_names", ()))
            if n
        ]

    def lookup(self, names):
        return partners_named(names)

    def partner_names(self, values):
        return [values["parent"]] if "parent" in values else []

    def read_keys(self, values):
        # The parent is found by name among partners, which earlier rows write.
        return self.written_keys(values) | {("name", fold(n)) for n in self.partner_names(values)}

    def created_keys(self, values, ctx):
        return {("name", fold(n)) for n in self.partner_names(values) if ctx.would_create(n)}

    def load_options(self):
        return (selectinload(Partner.other_names), selectinload(Partner.tags))

    def apply(self, partner, values, ctx):
        from crm.partners.operations import check_parent, tags_named

        before: dict = {}
        added: dict[str, list] = {}
        creating = partner.id is None
        name_en = values.get("name_en")
        _main_name(partner, "name_en", name_en, partner.all_names(), creating, before)
        for key in ("name_zh", "kind", "status", "country", "city", "website", "description"):
            _set(partner, key, values.get(key), before)
        if "parent" in values:
            parent_id = ctx.partner_id(values["parent"])
            if problem := check_parent(partner, parent_id):
                raise RowError(problem)
            if parent_id == partner.id:
                raise RowError(str(_l("This would make the organisation its own ancestor.")))
            _set(partner, "parent_id", parent_id, before)
        self.owner(partner, values, ctx, before)
        known = {fold(n) for n in partner.all_names()}
        new_names = []
        for name in values.get("other_names", ()):
            if fold(name) not in known:
                known.add(fold(name))
                link = PartnerName(name=name, kind="alias")
                partner.other_names.append(link)
                new_names.append(link)
        have = {t.name.casefold() for t in partner.tags}
        wanted = [t for t in values.get("tags", ()) if t.casefold() not in have]
        new_tags = tags_named(wanted) if wanted else []
        for tag in new_tags:
            partner.tags.append(tag)
        if creating:
            db.session.add(partner)
        if before or new_names or new_tags or creating:
            partner.refresh_derived()
            partner.stamp(ctx.actor)
        if new_names:
            added["other_names"] = new_names
        if new_tags:
            added["tags"] = new_tags
        return {"fields": before, "added": added} if (before or added) else {}


class ContactKind(Kind):
    key = "contact"
    model = Contact
    required = (("name", "name_zh", "id"),)
    form = ("crm.contacts.forms", "ContactForm")
    checked_on_create = ("name",)
    columns = [
        ID,
        Column(
            "name",
            _l("Name"),
            ("full name", "姓名", "名字", "名称", "联系人", "english name", "英文名"),
            _text(200),
            lambda c: c.name,
        ),
        Column(
            "name_zh",
            _l("Chinese name"),
            ("中文名", "中文姓名", "中文名称"),
            _text(100),
            lambda c: c.name_zh,
        ),
        Column(
            "email",
            _l("Email"),
            ("e-mail", "mail", "email address", "邮箱", "电子邮箱", "邮件", "电子邮件"),
            _email,
            lambda c: c.email,
        ),
        Column(
            "phone",
            _l("Phone"),
            ("tel", "telephone", "mobile", "电话", "手机", "联系电话"),
            _text(50),
            lambda c: c.phone,
        ),
        Column(
            "organisation",
            _l("Organisation"),
            ("organization", "company", "employer", "单位", "机构", "公司", "工作单位", "所属机构"),
            _names,
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
        Column("notes", _l("Notes"), ("备注", "说明"), _text(20000), lambda c: c.notes),
        OWNER,
    ]
    export_options = (selectinload(Contact.positions).joinedload(Position.partner),)

    def row_problems(self, values):
        if "title" in values and "organisation" not in values:
            return [("title", str(_l("A title needs the organisation it is held at.")))]
        return []

    def names(self, values):
        return [n for n in (values.get("name"), values.get("name_zh")) if n]

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
        _main_name(contact, "name", name, [contact.name, contact.name_zh], creating, before)
        for key in ("name_zh", "email", "phone", "notes"):
            _set(contact, key, values.get(key), before)
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


class AgreementKind(Kind):
    key = "agreement"
    model = Agreement
    required = (("title", "title_zh", "id"),)
    form = ("crm.agreements.forms", "AgreementForm")
    checked_on_create = ("title",)
    columns = [
        ID,
        Column(
            "title",
            _l("Title"),
            ("name", "agreement", "标题", "名称", "协议名称", "协议"),
            _text(500),
            lambda a: a.title,
        ),
        Column(
            "title_zh",
            _l("Chinese title"),
            ("中文标题", "中文名称", "中文名"),
            _text(300),
            lambda a: a.title_zh,
        ),
        Column(
            "type",
            _l("Type"),
            ("类型", "协议类型"),
            _vocab(AGREEMENT_TYPES),
            lambda a: _label(AGREEMENT_TYPES)(a.type),
        ),
        Column(
            "stage",
            _l("Stage"),
            ("status", "阶段", "状态"),
            _vocab(AGREEMENT_STAGES),
            lambda a: _label(AGREEMENT_STAGES)(a.stage),
        ),
        Column(
            "signed_on",
            _l("Signed on"),
            ("signed", "signing date", "签署日期", "签订日期", "签约日期"),
            cells.date_value,
            lambda a: a.signed_on,
        ),
        Column(
            "signed_at",
            _l("Signed at (place)"),
            ("place", "签署地点", "签约地点"),
            _text(300),
            lambda a: a.signed_at,
        ),
        Column(
            "effective_from",
            _l("Effective from"),
            ("start", "生效日期"),
            cells.date_value,
            lambda a: a.effective_from,
        ),
        Column(
            "expires_on",
            _l("Expires on"),
            ("expiry", "end", "到期日期", "截止日期"),
            cells.date_value,
            lambda a: a.expires_on,
        ),
        Column(
            "auto_renew",
            _l("Renews automatically"),
            ("auto renew", "自动续期", "自动续约"),
            cells.bool_value,
            lambda a: a.auto_renew,
        ),
        Column(
            "notice_days",
            _l("Notice period (days)"),
            ("notice days", "notice", "通知期", "通知期（天）"),
            lambda v: cells.int_value(v, low=0, high=3650),
            lambda a: a.notice_days,
        ),
        Column(
            "value_amount",
            _l("Value"),
            ("amount", "金额", "合同金额"),
            cells.decimal_value,
            lambda a: a.value_amount,
        ),
        Column(
            "value_currency",
            _l("Currency"),
            ("币种", "货币"),
            _currency,
            lambda a: a.value_currency,
        ),
        Column(
            "parties",
            _l("Parties"),
            ("party", "签约方", "合作方", "各方"),
            _roles(PARTY_ROLES, "party"),
            lambda a: _with_roles(a.parties, PARTY_ROLES),
        ),
        Column(
            "summary",
            _l("Summary"),
            ("摘要", "内容", "description"),
            _text(20000),
            lambda a: a.summary,
        ),
        OWNER,
    ]
    export_options = (selectinload(Agreement.parties).joinedload(AgreementParty.partner),)

    def row_problems(self, values):
        problems = []
        start, end = values.get("effective_from"), values.get("expires_on")
        if start and end and end < start:
            problems.append(("expires_on", str(_l("The expiry cannot be before the start."))))
        if "value_amount" in values and "value_currency" not in values:
            problems.append(("value_currency", str(_l("Choose the currency of the amount."))))
        return problems

    def names(self, values):
        return [n for n in (values.get("title"), values.get("title_zh")) if n]

    def lookup(self, names):
        return agreements_named(names)

    def partner_names(self, values):
        return [name for name, _role in values.get("parties", ())]

    def load_options(self):
        return (selectinload(Agreement.parties),)

    def apply(self, agreement, values, ctx):
        before: dict = {}
        creating = agreement.id is None
        title = values.get("title")
        names = [agreement.title, agreement.title_zh]
        _main_name(agreement, "title", title, names, creating, before)
        for key in (
            "title_zh",
            "type",
            "stage",
            "signed_on",
            "signed_at",
            "effective_from",
            "expires_on",
            "auto_renew",
            "notice_days",
            "value_amount",
            "value_currency",
            "summary",
        ):
            _set(agreement, key, values.get(key), before)
        self.owner(agreement, values, ctx, before)
        have = {(p.partner_id, p.role) for p in agreement.parties}
        new_parties = []
        for name, role in values.get("parties", ()):
            key = (ctx.partner_id(name), role)
            if key not in have:
                have.add(key)
                party = AgreementParty(partner_id=key[0], role=role)
                agreement.parties.append(party)
                new_parties.append(party)
        _check_order(
            agreement.effective_from,
            agreement.expires_on,
            _l("The expiry cannot be before the start."),
        )
        if agreement.value_amount is not None and not agreement.value_currency:
            raise RowError(str(_l("Choose the currency of the amount.")))
        if agreement.stage == "signed":
            if not agreement.signed_on:
                raise RowError(str(_l("Enter the date it was signed.")))
            if len({p for p, _ in have}) < 2:
                raise RowError(
                    str(_l("A signed agreement needs at least two organisations as parties."))
                )
        if creating:
            db.session.add(agreement)
        if before or new_parties or creating:
            agreement.refresh_derived()
            agreement.stamp(ctx.actor)
        added = {"parties": new_parties} if new_parties else {}
        return {"fields": before, "added": added} if (before or added) else {}


class ProjectKind(Kind):
    key = "project"
    model = Project
    required = (("name", "name_zh", "id"),)
    form = ("crm.projects.forms", "ProjectForm")
    checked_on_create = ("name",)
    columns = [
        ID,
        Column(
            "name",
            _l("Name"),
            ("project", "project name", "名称", "项目名称", "项目"),
            _text(300),
            lambda p: p.name,
        ),
        Column(
            "name_zh", _l("Chinese name"), ("中文名", "中文名称"), _text(200), lambda p: p.name_zh
        ),
        Column(
            "status",
            _l("Status"),
            ("状态",),
            _vocab(PROJECT_STATUSES),
            lambda p: _label(PROJECT_STATUSES)(p.status),
        ),
        Column(
            "start_date",
            _l("Start"),
            ("start date", "开始", "开始日期"),
            cells.date_value,
            lambda p: p.start_date,
        ),
        Column(
            "end_date",
            _l("End"),
            ("end date", "结束", "结束日期"),
            cells.date_value,
            lambda p: p.end_date,
        ),
        Column(
            "budget_amount",
            _l("Budget"),
            ("amount", "预算", "金额"),
            cells.decimal_value,
            lambda p: p.budget_amount,
        ),
        Column(
            "budget_currency",
            _l("Currency"),
            ("币种", "货币"),
            _currency,
            lambda p: p.budget_currency,
        ),
        Column(
            "partners",
            _l("Partners"),
            ("partner", "合作伙伴", "合作方", "参与方"),
            _roles(PROJECT_ROLES, "participant"),
            lambda p: _with_roles(p.partners, PROJECT_ROLES),
        ),
        Column(
            "agreements",
            _l("Agreements"),
            ("agreement", "协议", "相关协议"),
            _names,
            lambda p: "; ".join(a.title for a in p.agreements) or None,
        ),
        Column(
            "description",
            _l("Description"),
            ("描述", "简介", "说明"),
            _text(20000),
            lambda p: p.description,
        ),
        OWNER,
    ]
    export_options = (
        selectinload(Project.partners).joinedload(ProjectPartner.partner),
        selectinload(Project.agreements),
    )

    def row_problems(self, values):
        problems = []
        start, end = values.get("start_date"), values.get("end_date")
        if start and end and end < start:
            problems.append(("end_date", str(_l("The end cannot be before the start."))))
        if "budget_amount" in values and "budget_currency" not in values:
            problems.append(("budget_currency", str(_l("Choose the currency of the amount."))))
        return problems

    def names(self, values):
        return [n for n in (values.get("name"), values.get("name_zh")) if n]

    def lookup(self, names):
        return projects_named(names)

    def partner_names(self, values):
        return [name for name, _role in values.get("partners", ())]

    def load_options(self):
        return (selectinload(Project.partners), selectinload(Project.agreements))

    def apply(self, project, values, ctx):
        before: dict = {}
        creating = project.id is None
        name = values.get("name")
        _main_name(project, "name", name, [project.name, project.name_zh], creating, before)
        for key in (
            "name_zh",
            "status",
            "start_date",
            "end_date",
            "budget_amount",
            "budget_currency",
            "description",
        ):
            _set(project, key, values.get(key), before)
        self.owner(project, values, ctx, before)
        _check_order(
            project.start_date, project.end_date, _l("The end cannot be before the start.")
        )
        if project.budget_amount is not None and not project.budget_currency:
            raise RowError(str(_l("Choose the currency of the amount.")))
        have = {(link.partner_id, link.role) for link in project.partners}
        new_links = []
        for name_, role in values.get("partners", ()):
            key = (ctx.partner_id(name_), role)
            if key not in have:
                have.add(key)
                link = ProjectPartner(partner_id=key[0], role=role)
                project.partners.append(link)
                new_links.append(link)
        linked = {a.id for a in project.agreements}
        new_agreements = []
        for title in values.get("agreements", ()):
            ids = agreements_named([title]).get(fold(title), set())
            if len(ids) != 1:
                message = (
                    _l("No agreement is called “%(name)s”.", name=title)
                    if not ids
                    else _l("“%(name)s” is the title of several agreements.", name=title)
                )
                raise RowError(str(message))
            agreement_id = next(iter(ids))
            if agreement_id not in linked:
                linked.add(agreement_id)
                agreement = db.session.get(Agreement, agreement_id)
                project.agreements.append(agreement)
                new_agreements.append(agreement_id)
        if creating:
            db.session.add(project)
        if before or new_links or new_agreements or creating:
            project.refresh_derived()
            project.stamp(ctx.actor)
        added = {}
        if new_links:
            added["partners"] = new_links
        if new_agreements:
            added["agreements"] = new_agreements
        return {"fields": before, "added": added} if (before or added) else {}


def settled(before: dict) -> dict:
    """What `apply` replaced, in the form undo keeps: the new link rows by id (flushed)."""
    if not before:
        return before
    added = {
        name: [item if isinstance(item, int) else item.id for item in items]
        for name, items in before.get("added", {}).items()
    }
    return {"fields": before.get("fields", {}), "added": added}


KINDS: dict[str, Kind] = {
    k.key: k for k in (PartnerKind(), ContactKind(), AgreementKind(), ProjectKind())
}

# What undo removes, per link collection: (relationship on the record, link model or None
# for many-to-many records held by id).
LINKS = {
    "other_names": ("other_names", PartnerName),
    "tags": ("tags", Tag),
    "positions": ("positions", Position),
    "parties": ("parties", AgreementParty),
    "partners": ("partners", ProjectPartner),
    "agreements": ("agreements", Agreement),
}


def guess_mapping(kind: Kind, headers: list[str]) -> dict[int, str]:
    """Column index -> field key, from the headers (each field taken at most once)."""
    forms = [(column, column.header_forms()) for column in kind.importable()]
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        folded = fold(header)
        if not folded:
            continue
        for column, known in forms:
            if column.key not in taken and folded in known:
                mapping[index] = column.key
                taken.add(column.key)
                break
    return mapping


def restore_value(model, key: str, value):
    """A JSON-stored old value back in its column's Python type."""
    if value is None:
        return None
    column = model.__table__.c[key]
    python_type = getattr(column.type, "python_type", None)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is Decimal:
        return Decimal(str(value))
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value
