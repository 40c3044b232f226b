"""Editing a record through its form without losing anyone's change (the shared mechanism).

An edit form carries the version it was loaded at and a signed digest of the values it was
loaded with (`loaded`). When the record moved on meanwhile, the save is not written: the
form comes back merged, as a wiki's edit conflict does, comparing three ways per field:

- loaded (what the user started from, by digest), theirs (the record now), yours (posted);
- a field only you changed keeps your value; a field only they changed takes theirs;
- a field both changed differently keeps yours, flagged with what they saved and a
  "use theirs" box; the form then carries the current version, so saving it again writes
  the merge, nothing silently reverted.

A save that loses the race at the database (the version column catches a concurrent
save, PostgreSQL) gets the same answer. Repeated rows (other names, parties, positions)
are one field each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from flask import current_app, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import BooleanField, FieldList, HiddenField, SelectFieldBase

from crm.audit.queries import changes_since
from crm.forms import RecordPicker, RowForm

SALT = "crm-edit-loaded"
# Fields that are the form's bookkeeping, not the record's values.
NOT_VALUES = frozenset({"csrf_token", "version", "loaded"})
TAKE_THEIRS = "take_theirs"


# --- values ------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").strip()
        return value or None
    if hasattr(value, "id"):  # a record given as an object
        return value.id
    return value


def field_value(field):
    """A field's value in a form comparable between a loaded form and a posted one."""
    if isinstance(field, FieldList):
        rows = []
        for entry in field.entries:
            row = entry.form
            if isinstance(row, RowForm) and row.is_blank():
                continue
            rows.append({sub.short_name: field_value(sub) for sub in row})
        return rows
    if isinstance(field, BooleanField):
        return bool(field.data)
    if isinstance(field, HiddenField):  # a row's id: "12" posted, 12 loaded
        raw = _plain(field.data)
        try:
            return int(raw) if raw is not None else None
        except (TypeError, ValueError):
            return raw
    data = field.data
    if isinstance(data, list | tuple | set):
        return sorted((_plain(v) for v in data), key=str)
    if data == "" or (data == 0 and isinstance(field, SelectFieldBase) and _zero_is_none(field)):
        return None
    return _plain(data)


def _zero_is_none(field) -> bool:
    # The owner select offers 0 for "nobody": the same as an empty choice.
    return any(str(value) == "0" for value, *_rest in field.iter_choices())


def compared_fields(form) -> list[str]:
    """The record's fields the user may change on this form (disabled ones left out)."""
    names = []
    for field in form:
        if field.short_name in NOT_VALUES:
            continue
        if (field.render_kw or {}).get("disabled"):
            continue
        names.append(field.short_name)
    return names


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def digests(form) -> dict[str, str]:
    return {name: _digest(field_value(form[name])) for name in compared_fields(form)}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def remember_loaded(form, record) -> None:
    """Stamp a form with the record's version and what it was loaded with."""
    form.version.data = str(record.version_id)
    form.loaded.data = _serializer().dumps({"v": record.version_id, "d": digests(form)})


def loaded_digests(form) -> dict[str, str] | None:
    """The digests the posted form was loaded with, or None when unknown or not matching
    the version it carries (an old page, a hand-made post)."""
    raw = form.loaded.data
    if not raw:
        return None
    try:
        snapshot = _serializer().loads(raw)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(snapshot, dict) or snapshot.get("v") != form.version_number():
        return None
    found = snapshot.get("d")
    return found if isinstance(found, dict) else None


# --- display -----------------------------------------------------------------------------


def display(field) -> str:
    """What a field holds, as a person reads it (for "they saved ...")."""
    if isinstance(field, FieldList):
        rows = []
        for entry in field.entries:
            row = entry.form
            if isinstance(row, RowForm) and row.is_blank():
                continue
            parts = [display(sub) for sub in row if not isinstance(sub, HiddenField)]
            rows.append(", ".join(p for p in parts if p and p != "—"))
        return "; ".join(rows) or "—"
    if isinstance(field, RecordPicker):
        return field.display_label() or "—"
    if isinstance(field, BooleanField):
        return _("Yes") if field.data else _("No")
    if isinstance(field, SelectFieldBase):
        chosen = [str(option.label.text) for option in field if option.checked]
        return ", ".join(chosen) or "—"
    value = field._value() if hasattr(field, "_value") else field.data
    return str(value) if value not in (None, "") else "—"


# --- merging -----------------------------------------------------------------------------


def _swap(form, name: str, source) -> None:
    """Put `source`'s field `name` into `form` (value, choices, rows and all)."""
    field = source._fields[name]
    form._fields[name] = field
    setattr(form, name, field)


def take_theirs(form, theirs: Callable) -> None:
    """Before validating a post: the fields ticked "use theirs" take the current values."""
    wanted = set(request.form.getlist(TAKE_THEIRS))
    names = [n for n in compared_fields(form) if n in wanted]
    if not names:
        return
    current = theirs()
    for name in names:
        _swap(form, name, current)


def merge(form, record, theirs_form) -> None:
    """Merge a stale post with the record as it is now (see the module's docstring).

    Without the loaded values (a page from before they were sent, a hand-made post) no
    one can tell who changed a field: every field that differs is flagged, never taken.
    """

    loaded = loaded_digests(form)
    merged_in, conflicts = [], []
    for name in compared_fields(form):
        mine = _digest(field_value(form[name]))
        current = _digest(field_value(theirs_form[name]))
        if mine == current:
            continue
        start = loaded.get(name) if loaded is not None else None
        if start is not None and mine == start:
            _swap(form, name, theirs_form)
            merged_in.append(str(form[name].label.text))
        elif start is not None and current == start:
            continue
        else:
            form[name].theirs = display(theirs_form[name])
            conflicts.append(str(form[name].label.text))
    form.newer_changes = changes_since(record.__audit_type__, record.id, form.version_number())
    form.merged_in, form.conflicts = merged_in, conflicts
    form.form_errors.append(
        _(
            "Someone else saved this record while you were editing it. Nothing of yours is "
            "saved yet: the form below now holds their changes and yours. Check it, then "
            "save again."
        )
    )
    # The merge is relative to the record as it is now: the next save starts from here.
    form.version.data = str(record.version_id)
    form.loaded.data = _serializer().dumps({"v": record.version_id, "d": digests(theirs_form)})
