"""Importable kinds of record: the generic algorithm each kind's columns plug into.

A kind (declared by its record package, in crm/<package>/columns.py, and listed in
crm/dataio/registry.py) says how a row's cells become values (with a message per bad
cell), how a row finds its likely existing record (by ID, or by any of its names; contacts
by email first), and how the values are applied to a new or existing record. Applying
never clears a field with an empty cell and never removes a link: it sets what differs and
adds what is missing, and says what it replaced, which is what undo puts back.

What the import steps (crm/dataio/jobs.py) ask of a kind: `parse` a row, `find` its
matches, `prefetch` the partners a batch of rows names, `reads`/`writes` (which rows
depend on which), `write` a row onto a record (new or loaded), and `undo` a change; plus
`reason` to word a row's errors.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select, union_all

from crm.audit import trail
from crm.audit.trail import plain
from crm.auth.models import User
from crm.dataio.cells import CellError, fold
from crm.dataio.columns import Column
from crm.db import db
from crm.partners.models import Partner, PartnerName


class RowError(Exception):
    """A row that cannot be applied, with the reason shown in the report."""


class Checked(NamedTuple):
    """A row as the check step keeps it (see `Kind.check`)."""

    errors: list[list[str]]
    matches: list[int]
    key: str | None
    label: str | None


# --- name lookups ---------------------------------------------------------------------


def _forms(names) -> set[str]:
    """The raw forms a stored name may have: as typed and width-folded."""
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


def named_lookup(model, main, sort_col, zh) -> Callable[[list[str]], dict[str, set[int]]]:
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


def _field_form(form: type, keys: tuple[str, ...]) -> type:
    """A form of only these fields of a record's form (its own field definitions, so its
    validators and messages, in the user's language), without CSRF: made once."""
    cached = _FIELD_FORMS.get((form, keys))
    if cached is None:
        fields = {key: getattr(form, key) for key in keys}

        class Meta:
            csrf = False

        cached = type(f"{form.__name__}Fields", (FlaskForm,), {"Meta": Meta, **fields})
        _FIELD_FORMS[(form, keys)] = cached
    return cached


def main_name(record, key: str, value, names: list, creating: bool, before: dict) -> None:
    """Set a record's main name, unless the value is one of the names it already has (the
    row found it by its Chinese or other name: that is no reason to rename it)."""
    if value is None or (not creating and fold(value) in {fold(n) for n in names if n}):
        return
    set_field(record, key, value, before)


def set_field(record, key: str, value, before: dict) -> None:
    """Set a field that differs, remembering its old value once."""
    if value is None:
        return
    current = getattr(record, key)
    if current == value:
        return
    before.setdefault(key, plain(current))
    setattr(record, key, value)


def period_and_amount(
    values: dict, period: tuple[str, str, object], amount: tuple[str, str]
) -> list[tuple[str, str]]:
    """A row's problems as a record with a period and an amount: (end key, message) when
    the end is before the start, (currency key, message) for an amount without currency."""
    (start_key, end_key, message), (amount_key, currency_key) = period, amount
    problems = []
    start, end = values.get(start_key), values.get(end_key)
    if start and end and end < start:
        problems.append((end_key, str(message)))
    if amount_key in values and currency_key not in values:
        problems.append((currency_key, str(_l("Choose the currency of the amount."))))
    return problems


def check_order(start: date | None, end: date | None, message) -> None:
    if start and end and end < start:
        raise RowError(str(message))


# --- the kinds --------------------------------------------------------------------------


class Kind:
    """An importable (and exportable) kind of record."""

    key: str
    model: type
    columns: list[Column]
    required: tuple[tuple[str, ...], ...] = ()  # each tuple: at least one of these mapped
    # The list this kind's export downloads: its key, label and its page's query builder.
    list_key: str
    list_label: object
    list_query: Callable

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

    # The record's form and the fields of it whose own validators judge a row that creates
    # a record: what the form demands (the English name ...), the import demands, with the
    # form's message, instead of filling it from another column.
    form: type | None = None
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

    name_keys: tuple[str, ...] = ()  # the columns holding a record's names, main first

    def names(self, values: dict) -> list[str]:
        return [n for n in (values.get(key) for key in self.name_keys) if n]

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

    def export_options(self) -> tuple:
        """Loader options for an export's batches: what the columns' `export` reads."""
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

    # --- what the import steps ask (crm/dataio/jobs.py) ----------------------------------

    def mapping_errors(self, mapping: dict[int, str]) -> dict[str, str]:
        """What is wrong with a column mapping (a field mapped twice, a required group not
        mapped): a message per form field ("col-<index>", "" for the whole form)."""
        errors: dict[str, str] = {}
        seen: dict[str, int] = {}
        for index, key in sorted(mapping.items()):
            if key in seen:
                label = str(self.column(key).label)
                errors[f"col-{index}"] = str(
                    _l("“%(field)s” is already taken by another column.", field=label)
                )
            seen[key] = index
        for group in self.required:
            if not any(key in seen for key in group):
                labels = " / ".join(str(self.column(key).label) for key in group)
                errors[""] = str(_l("Map a column to %(fields)s.", fields=labels))
        return errors

    def check(self, rows: list[list], mapping: dict[int, str]) -> list[Checked]:
        """What the check step keeps of each row: its errors (bad cells, an ID that finds
        nothing, what the form of a new record would refuse), matches, key and label."""
        parsed = [self.parse(cells, mapping) for cells in rows]
        matches = self.find([values for values, _errors in parsed])
        checked = []
        for (values, errors), found in zip(parsed, matches, strict=True):
            errors = [[k, m] for k, m in errors]
            if problem := self.id_problem(values, found):
                errors.append(["id", problem])
            elif not errors and not found:
                # A new record: what its form demands (an English name ...), the row must hold.
                errors += [[k, m] for k, m in self.create_problems(values)]
            checked.append(Checked(errors, found, self.key_of(values), self.label(values) or None))
        return checked

    def reason(self, errors) -> str:
        """A row's (key, message) errors in one line, each under its column's label."""
        keys = {c.key for c in self.columns}
        return "; ".join(
            f"{str(self.column(key).label) if key in keys else key}: {message}"
            for key, message in errors
        )

    def prefetch(self, ctx: Context, rows: Iterable[dict]) -> None:
        """Look up at once the partners these rows name."""
        ctx.prefetch(name for values in rows for name in self.partner_names(values))

    def reads(self, values: dict) -> set[tuple[str, str]]:
        """What the row reads that an earlier row may write (see `writes`)."""
        return self.read_keys(values)

    def writes(self, values: dict, ctx: Context) -> set[tuple[str, str]]:
        """What applying the row writes that a later row may read: its own names (and
        email) and those of the records of its kind it creates on the way."""
        return self.written_keys(values) | self.created_keys(values, ctx)

    def write(self, record, values: dict, ctx: Context) -> tuple[object, dict]:
        """Apply a row to a loaded record, or to a new one (record None) if its form would
        accept it: (the record, what `apply` replaced). Raises RowError."""
        if record is None:
            if problems := self.create_problems(values):
                raise RowError(self.reason(problems))
            record = self.new()
        return record, self.apply(record, values, ctx)

    def undo(self, record, action: str, before: dict, user) -> None:
        """Undo one change an import made: archive the record it created, or put back what
        it replaced (`settled` form) and remove the links it added."""
        if action == "created":
            if record.archived_at is None:
                record.archive(user)
            return
        for key, old in before.get("fields", {}).items():
            setattr(record, key, restore_value(self.model, key, old))
        for name, ids in before.get("added", {}).items():
            wanted = set(ids)
            collection = getattr(record, name)
            collection[:] = [item for item in collection if item.id not in wanted]
        record.refresh_derived()
        record.updated_by_id = trail.current_actor_id()

    def owner(self, record, values: dict, ctx: Context, before: dict) -> None:
        if "owner" in values and ctx.may_reassign:
            set_field(record, "owner_id", ctx.owner_id(values["owner"]), before)


def settled(before: dict) -> dict:
    """What `apply` replaced, in the form undo keeps: the new link rows by id (flushed)."""
    if not before:
        return before
    added = {
        name: [item if isinstance(item, int) else item.id for item in items]
        for name, items in before.get("added", {}).items()
    }
    return {"fields": before.get("fields", {}), "added": added}


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
