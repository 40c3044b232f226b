"""Form pieces shared by every feature: pickers that find records by any of their
names, money and date fields with clear messages, repeated rows, the edit version."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from crm.db import db
from crm.listing import MAX_ID
from crm.vocab import CURRENCIES, countries, options


class EmptyForm(FlaskForm):
    """A form with no fields: gives POST-only buttons (archive, sign out) a CSRF token."""


class VersionedForm(FlaskForm):
    """An edit form that remembers which version of the record it was loaded at, and
    (signed) what it was loaded with, to merge a stale save (crm.edits)."""

    version = HiddenField()
    loaded = HiddenField()

    def version_number(self) -> int | None:
        """The version posted, or None when it cannot be one (a record's is 1 or more)."""
        try:
            number = int(self.version.data)
        except (TypeError, ValueError):
            return None
        # Beyond a 32-bit column it could not even be compared in SQL (an OverflowError).
        return number if 0 < number <= MAX_ID else None


class RecordPicker(Field):
    """Pick a record by typing part of any of its names; submits the record's id.

    The page shows a text box (`<name>__label`) wired to a lookup URL; the id travels in a
    hidden input. The label is submitted too so that, when the form comes back with
    errors, the user sees what they picked. Unknown or archived ids are field errors.
    """

    widget = HiddenInput()

    def __init__(self, label=None, validators=None, *, model, lookup, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model = model
        self.lookup = lookup
        self.typed_label = ""
        self.record = None

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        self.raw_id = raw
        if raw:
            try:
                self.data = int(raw)
                if not 0 < self.data <= MAX_ID:
                    raise ValueError(raw)
            except ValueError:
                self.data = None
                raise ValueError(_l("Pick a record from the list.")) from None

    def process(self, formdata, data=None, extra_filters=None):
        super().process(formdata, data, extra_filters)
        if formdata is not None:
            self.typed_label = (formdata.get(f"{self.name}__label") or "").strip()[:300]
        if hasattr(self.data, "id"):
            self.record, self.data = self.data, self.data.id

    def pre_validate(self, form):
        if self.data is None:
            if self.typed_label and not getattr(self, "raw_id", ""):
                raise ValidationError(_l("Pick a record from the list."))
            return
        record = db.session.get(self.model, self.data)
        unchanged = self.object_data is not None and (
            getattr(self.object_data, "id", self.object_data) == self.data
        )
        if record is None or (getattr(record, "is_archived", False) and not unchanged):
            raise ValidationError(_l("This record does not exist or is archived."))
        self.record = record

    def _value(self):
        return "" if self.data is None else str(self.data)

    def display_label(self) -> str:
        if self.typed_label:
            return self.typed_label
        record = self.record
        if record is None and self.data is not None:
            record = db.session.get(self.model, self.data)
        return getattr(record, "display_name", "") if record is not None else ""


class FriendlyDateField(DateField):
    """A date (YYYY-MM-DD) whose error says what was expected."""

    # Dates are computed with (a notice period before an expiry, a day moved to UTC):
    # year 1 or 9999 would overflow, and no record of ours is dated there.
    FIRST_YEAR, LAST_YEAR = 1800, 2200

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators or [Optional()], format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a date as YYYY-MM-DD.")) from None
        if self.data is not None and not self.FIRST_YEAR <= self.data.year <= self.LAST_YEAR:
            self.data = None
            raise ValueError(_l("Enter a date between the years 1800 and 2200."))


def currency_field(label=None):
    return SelectField(
        label or _l("Currency"),
        choices=options([("", "—")] + [(c, c) for c in CURRENCIES]),
        validators=[Optional()],
        default="",
    )


def country_field():
    return SelectField(
        _l("Country"),
        choices=lambda: options([("", "—")] + list(countries().items())),
        validators=[Optional()],
        default="",
    )


def no_control_characters(form, field):
    """Refuse NUL and other control characters (PostgreSQL cannot even store NUL)."""
    if isinstance(field.data, str) and any(
        ord(ch) < 32 and ch not in "\t\n\r" for ch in field.data
    ):
        raise ValidationError(_l("Remove the control characters from this text."))


def text_field(label, max_length, required=False, validators_extra=(), **kwargs):
    """A stripped text field with a length limit; empty input becomes None."""
    validators = [DataRequired()] if required else [Optional()]
    validators += [Length(max=max_length), no_control_characters]
    validators.extend(validators_extra)
    return StringField(label, validators=validators, filters=[strip_or_none], **kwargs)


def long_text_field(label, max_length=20000):
    """A free-text area (description, notes, summary): stripped, bounded, no control chars."""
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=max_length), no_control_characters],
        filters=[strip_or_none],
    )


class FriendlyDecimal(StringField):
    """A number (may be negative, up to four decimals), kept as typed on error."""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip().replace(",", "")
        self.raw_data = valuelist
        self.data = None
        if not raw:
            return
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(self.not_a_number) from None
        if not value.is_finite():
            raise ValueError(self.not_a_number)
        self.check(value)
        self.data = value

    not_a_number = _l("Enter a number such as 42.8.")

    def check(self, value: Decimal) -> None:
        if abs(value) >= Decimal("1e20"):
            raise ValueError(self.not_a_number)
        if value.as_tuple().exponent < -4:
            raise ValueError(_l("Use at most four decimals."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data.normalize():f}"


class MoneyField(FriendlyDecimal):
    """An amount: not negative, at most two decimals, kept as typed on error."""

    not_a_number = _l("Enter an amount such as 1250000.00.")

    def check(self, value: Decimal) -> None:
        if value < 0:
            raise ValueError(_l("The amount cannot be negative."))
        if value.as_tuple().exponent < -2:
            raise ValueError(_l("Use at most two decimals."))
        if value >= Decimal("1e16"):
            raise ValueError(_l("This amount is too large."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:f}"


def strip_or_none(value):
    """Stripped text, or None when empty; line ends as "\\n" whoever sent them (a browser
    sends a text area's as "\\r\\n": saving a page unchanged must change nothing)."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").strip()
        return value or None
    return value


def money_pair_errors(amount_field, currency_field_) -> None:
    """An amount needs a currency: money in different currencies is never mixed."""
    if amount_field.data is not None and not currency_field_.data:
        currency_field_.errors.append(_l("Choose the currency of the amount."))


def _has_input(field) -> bool:
    if field.raw_data is not None:
        return any(str(v).strip() for v in field.raw_data)
    return field.data not in (None, "")


class RowForm(Form):
    """One repeated row (a party, a position, a milestone) inside a record's form.

    `key_fields` name the fields that make a row worth saving: a row whose key fields are
    all empty is an unused blank row and is skipped, whatever its selects default to.
    """

    key_fields: tuple[str, ...] = ()
    id = HiddenField()

    def is_blank(self) -> bool:
        for name in self.key_fields:
            field = self[name]
            if field.type == "RecordPicker":
                if field.data is not None or field.typed_label or getattr(field, "raw_id", ""):
                    return False
            elif _has_input(field):
                return False
        return True

    def row_id(self) -> int | None:
        try:
            return int(self.id.data)
        except (TypeError, ValueError):
            return None

    def validate(self, extra_validators=None):
        # A blank row is not an error: it is skipped when saving.
        if self.is_blank():
            return True
        return super().validate(extra_validators)


def super_indices(prefix: str, formdata, separator: str):
    """Row indices in submitted keys such as "parties-3-partner" (ASCII digits only)."""
    offset = len(prefix) + 1
    for key in formdata:
        if key.startswith(prefix):
            part = key[offset:].split(separator, 1)[0]
            if part.isascii() and part.isdigit() and len(part) < 7:
                yield int(part)


class Rows(FieldList):
    """Repeated rows of a RowForm, with a blank template row for the "add" button."""

    def __init__(self, row_form, label=None, min_entries=1, max_entries=500, **kwargs):
        super().__init__(
            FormField(row_form), label, min_entries=min_entries, max_entries=max_entries, **kwargs
        )

    def _extract_indices(self, prefix, formdata):
        # Only ASCII digits: str.isdigit() also accepts "²", which int() then refuses.
        yield from super_indices(prefix, formdata, self._field_separator)

    @property
    def template_row(self):
        index = "__index__"
        options = dict(
            name=f"{self.name}{self._separator}{index}",
            id=f"{self.id}{self._separator}{index}",
            _meta=self.meta,
            translations=self._translations,
        )
        field = self.meta.bind_field(self._form, self.unbound_field, options)
        field.process(None)
        return field

    def filled(self):
        """The row forms the user filled in, blank rows left out."""
        return [entry.form for entry in self.entries if not entry.form.is_blank()]
