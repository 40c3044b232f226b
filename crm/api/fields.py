"""From a page's WTForms form to the API: the JSON shape of its fields, and JSON bodies
turned into the form data the page would have posted.

The API never restates a validation rule. It reads the form class the pages use: each
field's type gives its JSON type, and its validators (required, length, range) and
choices give the JSON schema's constraints, for the OpenAPI document. A JSON body is
checked only for its shape (a number where a number belongs ...), then converted to
form data and validated by the form itself, then saved by the page's operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import Length, NumberRange

from crm.forms import FriendlyDecimal, RecordPicker
from crm.listing import MAX_ID

# How each kind of form field travels in JSON.
STRING, DATE, DECIMAL, INTEGER, BOOLEAN, CHOICE, ID, IDS, ROWS, REFS, NAMES = (
    "string",
    "date",
    "decimal",
    "integer",
    "boolean",
    "choice",
    "id",
    "ids",
    "rows",
    "refs",
    "names",  # a comma-separated text field (sector tags), as an array of strings
)


@dataclass
class FieldSpec:
    """One form field as the API sees it."""

    name: str
    kind: str
    required: bool = False
    default: Any = None
    enum: list[str] | None = None
    static_enum: bool = True
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_items: int | None = None
    rows: FormSpec | None = None  # for ROWS
    ref_field: str | None = None  # for REFS: the row's one picker field
    description: str | None = None


@dataclass
class FormSpec:
    fields: dict[str, FieldSpec] = field(default_factory=dict)


def _validator(field_, kind):
    return next((v for v in field_.validators if isinstance(v, kind)), None)


def _is_id_row(row_form) -> str | None:
    """The picker's name when a row holds nothing but one record picker (and its id)."""
    names = [f.short_name for f in row_form if f.short_name != "id"]
    if len(names) == 1 and isinstance(row_form[names[0]], RecordPicker):
        return names[0]
    return None


def spec_for(form, skip=("version", "loaded", "csrf_token")) -> FormSpec:
    """The API's view of a bound form (or row form) instance."""
    spec = FormSpec()
    for f in form:
        name = f.short_name
        if name in skip:
            continue
        spec.fields[name] = _field_spec(f, name)
    return spec


def _field_spec(f, name: str) -> FieldSpec:
    required = bool(getattr(f.flags, "required", False))
    if isinstance(f, FieldList):
        row = f.entries[0].form if f.entries else f.template_row.form
        ref = _is_id_row(row)
        if ref:
            return FieldSpec(name, REFS, max_items=f.max_entries, ref_field=ref)
        return FieldSpec(name, ROWS, max_items=f.max_entries, rows=spec_for(row, skip=()))
    if isinstance(f, RecordPicker):
        return FieldSpec(name, ID, required=required, minimum=1, maximum=MAX_ID)
    if isinstance(f, HiddenField):  # a row's id: which existing row this one updates
        return FieldSpec(name, ID, minimum=1, maximum=MAX_ID)
    if isinstance(f, FriendlyDecimal):
        return FieldSpec(name, DECIMAL, required=required)
    if isinstance(f, DateField):
        return FieldSpec(name, DATE, required=required)
    if isinstance(f, BooleanField):
        return FieldSpec(name, BOOLEAN, default=bool(f.default))
    if isinstance(f, IntegerField):
        bounds = _validator(f, NumberRange)
        return FieldSpec(
            name,
            INTEGER,
            required=required,
            minimum=getattr(bounds, "min", None),
            maximum=getattr(bounds, "max", None),
        )
    if isinstance(f, SelectMultipleField):
        return FieldSpec(name, IDS)
    if isinstance(f, SelectField):
        if f.coerce is not str:  # ids (owner, indicator kind): choices come from the data
            return FieldSpec(name, INTEGER, required=required, minimum=0, maximum=MAX_ID)
        values = [c.value for c in f.iter_choices()]
        return FieldSpec(
            name,
            CHOICE,
            required=required,
            default=f.default if f.default is not None else None,
            enum=values,
            static_enum=not callable(f.choices),
        )
    length = _validator(f, Length)
    max_length = getattr(length, "max", -1)
    return FieldSpec(
        name,
        STRING,
        required=required,
        max_length=max_length if max_length and max_length > 0 else None,
        description=f.description or None,
    )


# --- JSON schema (OpenAPI 3.0) ------------------------------------------------------------


def json_schema(spec: FormSpec, *, for_input: bool, creating: bool = False) -> dict:
    """The object schema of a form: request bodies (`for_input`) or response records."""
    properties = {name: _property(f, for_input) for name, f in spec.fields.items()}
    schema = {"type": "object", "properties": properties}
    required = [n for n, f in spec.fields.items() if f.required and creating]
    if not for_input:
        required = list(spec.fields)
    if required:
        schema["required"] = required
    return schema


def _property(f: FieldSpec, for_input: bool) -> dict:
    nullable = not f.required
    if f.kind == STRING:
        prop = {"type": "string"}
        if f.max_length:
            prop["maxLength"] = f.max_length
    elif f.kind == DATE:
        prop = {"type": "string", "format": "date"}
    elif f.kind == DECIMAL:
        prop = {
            "type": "string",
            "description": 'A decimal number written as a string, such as "42.8".',
        }
    elif f.kind == BOOLEAN:
        prop = {"type": "boolean"}
        nullable = for_input
    elif f.kind in (INTEGER, ID):
        prop = {"type": "integer"}
        if f.minimum is not None:
            prop["minimum"] = f.minimum
        if f.maximum is not None:
            prop["maximum"] = f.maximum
    elif f.kind == CHOICE:
        prop = {"type": "string"}
        if f.enum is not None and (for_input or f.static_enum):
            prop["enum"] = [v for v in f.enum if v != ""]
        nullable = nullable or "" in (f.enum or [])
        if for_input and "" in (f.enum or []):
            prop["enum"].append("")
    elif f.kind == IDS:
        prop = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
        nullable = for_input
    elif f.kind == NAMES:
        prop = {"type": "array", "items": {"type": "string"}}
        nullable = for_input
    elif f.kind == REFS:
        prop = {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            "maxItems": f.max_items,
        }
        nullable = for_input
    else:  # ROWS
        row = json_schema(f.rows, for_input=for_input)
        row["additionalProperties"] = False
        if for_input:
            row["required"] = [n for n, sub in f.rows.fields.items() if sub.required]
            if not row["required"]:
                del row["required"]
        prop = {"type": "array", "items": row, "maxItems": f.max_items}
        nullable = for_input
    if for_input and f.default not in (None, "") and f.kind in (CHOICE, BOOLEAN):
        prop["default"] = f.default
    if f.description and "description" not in prop:
        prop["description"] = str(f.description)
    if nullable:
        prop["nullable"] = True
    return prop


# --- JSON body -> form data ---------------------------------------------------------------


class ShapeErrors(dict):
    """Field path -> messages, for values whose JSON type is wrong."""

    def add(self, path: str, message: str) -> None:
        self.setdefault(path, []).append(message)


def _text_ok(value: str) -> bool:
    # JSON can carry lone surrogates ("\ud800"), which no database can store.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _put(data: MultiDict, key: str, f: FieldSpec, value, errors: ShapeErrors, path: str):
    """Add one field's value to the form data as a browser would post it."""
    kind = f.kind
    if value is None:
        if kind in (STRING, DATE, DECIMAL, INTEGER, ID, CHOICE):
            data[key] = ""
        return
    if kind in (STRING, DATE, DECIMAL, CHOICE):
        if not isinstance(value, str):
            errors.add(path, _expected(kind))
        elif not _text_ok(value):
            errors.add(path, _("This text holds characters that are not valid Unicode."))
        else:
            data[key] = value
    elif kind in (INTEGER, ID):
        if _is_int(value):
            data[key] = str(value)
        else:
            errors.add(path, _("Enter a whole number."))
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            errors.add(path, _("Enter true or false."))
        elif value:
            data[key] = "y"
    elif kind == IDS:
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            errors.add(path, _("Enter a list of ids."))
        else:
            for v in value:
                data.add(key, str(v))
    elif kind == NAMES:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.add(path, _("Enter a list of names."))
        elif any(not _text_ok(v) for v in value):
            errors.add(path, _("This text holds characters that are not valid Unicode."))
        elif any("," in v or "，" in v for v in value):
            errors.add(path, _("A name in this list cannot contain a comma."))
        else:
            data[key] = ", ".join(value)
    elif kind == REFS:
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            errors.add(path, _("Enter a list of ids."))
        elif len(value) > f.max_items:
            errors.add(path, _("At most %(n)d items.", n=f.max_items))
        else:
            for i, v in enumerate(value):
                data[f"{key}-{i}-{f.ref_field}"] = str(v)
    elif kind == ROWS:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            errors.add(path, _("Enter a list of objects."))
        elif len(value) > f.max_items:
            errors.add(path, _("At most %(n)d items.", n=f.max_items))
        else:
            for i, row in enumerate(value):
                _put_row(data, f"{key}-{i}", f.rows, row, errors, f"{path}.{i}")


def _put_row(data, prefix, spec: FormSpec, row: dict, errors: ShapeErrors, path: str):
    for name in row:
        if name not in spec.fields:
            errors.add(f"{path}.{name}", _("There is no such field."))
    for name, sub in spec.fields.items():
        # A field left out of a row takes its default, as a new row on the page would.
        value = row.get(name, sub.default)
        _put(data, f"{prefix}-{name}", sub, value, errors, f"{path}.{name}")


def _expected(kind: str) -> str:
    if kind == DATE:
        return _("Enter a date as YYYY-MM-DD.")
    if kind == DECIMAL:
        return _('Send the number as a string, such as "42.8".')
    return _("Enter text.")


def to_formdata(spec: FormSpec, body: dict, errors: ShapeErrors) -> MultiDict:
    """Form data for the fields in `body` (a field left out is not posted)."""
    data = MultiDict()
    for name, value in body.items():
        f = spec.fields.get(name)
        if f is not None:
            _put(data, name, f, value, errors, name)
    return data


# --- form errors -> JSON ------------------------------------------------------------------


def form_errors(form, spec: FormSpec) -> dict[str, list[str]]:
    """Every message the form shows, keyed by the JSON path of its field."""
    out: dict[str, list[str]] = {}
    for f in form:
        name = f.short_name
        if name not in spec.fields:
            continue
        if isinstance(f, FieldList):
            refs = spec.fields[name].kind == REFS
            for entry in f.entries:
                for sub in entry.form:
                    if sub.errors:
                        path = f"{name}.{entry.index}" + ("" if refs else f".{sub.short_name}")
                        out.setdefault(path, []).extend(str(e) for e in sub.errors)
            listed = [str(e) for e in f.errors if not isinstance(e, dict | list)]
            if listed:
                out.setdefault(name, []).extend(listed)
        elif f.errors:
            out.setdefault(name, []).extend(str(e) for e in f.errors)
    return out


def empty_rows(form, spec: FormSpec, values: dict) -> dict[str, list[str]]:
    """Rows sent with nothing in them. A page always has a spare blank row, which it skips;
    a JSON list has none, so an empty row there is a mistake worth saying."""
    out: dict[str, list[str]] = {}
    for name, f in spec.fields.items():
        sent = values.get(name)
        if f.kind != ROWS or not isinstance(sent, list):
            continue
        for entry in form[name].entries:
            if entry.index < len(sent) and entry.form.is_blank():
                out[f"{name}.{entry.index}"] = [_("This row is empty.")]
    return out
