"""The project form (one class for create and edit) and the admin form for indicator kinds.

Everything a project holds is entered on the one form and saved in one transaction: the
agreements it came out of, its partners and their roles, milestones, outcome indicators
with their targets, and the actuals reported per period for those indicators.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
)

from crm.agreements.models import Agreement
from crm.forms import (
    FriendlyDateField,
    MoneyField,
    RecordPicker,
    RowForm,
    Rows,
    VersionedForm,
    currency_field,
    long_text_field,
    money_pair_errors,
    strip_or_none,
    text_field,
)
from crm.listing import parse_id
from crm.partners.models import Partner
from crm.projects import queries
from crm.vocab import PROJECT_ROLES, PROJECT_STATUSES, choices, options

# Ids above this cannot exist (id columns are 32-bit on PostgreSQL); asking the database
# about them would fail with an overflow instead of answering "not found".


class Required:
    """Like DataRequired, but a field whose input was already refused keeps that message
    ("Pick a record from the list.") instead of getting "required" in its place."""

    field_flags = {"required": True}

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if field.data is None or field.data == "":
            raise StopValidation(None if field.errors else self.message)


def optional_id(value):
    """Coerce a submitted id: "" is no choice; anything no record can have is refused."""
    if value is None or value == "":
        return None
    return parse_id(value)


def kind_choices(form, field):
    """Active indicator kinds, plus the one a row already holds if it was deactivated."""
    locale = str(get_locale() or "en")
    items = [SelectChoice("", "—")]
    for kind in queries.indicator_kinds().values():
        if not kind.active and kind.id != field.data:
            continue
        label = kind.label(locale)
        if kind.is_money:
            label = f"{label} ({_l('money')})"
        if not kind.active:
            label = f"{label} ({_l('no longer offered')})"
        items.append(SelectChoice(str(kind.id), label))
    return items


def _kind_field():
    return SelectField(
        _l("Indicator"),
        coerce=optional_id,
        choices=kind_choices,
        validators=[Required(_l("Choose the kind of indicator."))],
        invalid_value_message=_l("Not a valid choice."),
    )


class AgreementRow(RowForm):
    key_fields = ("agreement",)
    agreement = RecordPicker(_l("Agreement"), model=Agreement, lookup="agreements.lookup")


class PartnerRow(RowForm):
    key_fields = ("partner",)
    partner = RecordPicker(
        _l("Partner"),
        validators=[Required(_l("Pick the organisation."))],
        model=Partner,
        lookup="partners.lookup",
    )
    role = SelectField(_l("Role"), choices=choices(PROJECT_ROLES), default="participant")


class MilestoneRow(RowForm):
    # A row with only a date is not blank: it asks for its title instead of vanishing.
    key_fields = ("title", "due_on", "done_on")
    title = text_field(_l("Milestone"), 300, required=True)
    due_on = FriendlyDateField(_l("Due"))
    done_on = FriendlyDateField(_l("Done on"))


class IndicatorRow(RowForm):
    key_fields = ("kind_id", "target", "currency")
    kind_id = _kind_field()
    target = MoneyField(_l("Target"))
    currency = currency_field(_l("Currency (money only)"))


_PERIOD_ENDS = [
    (re.compile(r"^([0-9]{4})$"), lambda y, _: date(y, 12, 31)),
    (re.compile(r"^([0-9]{4})-?Q([1-4])$"), lambda y, q: _month_end(y, 3 * q)),
    (re.compile(r"^([0-9]{4})-?H([12])$"), lambda y, h: _month_end(y, 6 * h)),
    (re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$"), lambda y, m: _month_end(y, m)),
]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def normalize_period(label: str | None) -> str | None:
    """One spelling per period ("2021 q3" becomes "2021-Q3"), so duplicates are caught."""
    if not label:
        return label
    text = " ".join(label.split())
    match = re.match(r"^([0-9]{4})[ -]?([QqHh])([0-9])$", text)
    return f"{match[1]}-{match[2].upper()}{match[3]}" if match else text


def period_end_of(label: str | None) -> date | None:
    """The last day of a period written as 2021, 2021-Q3, 2021-H1 or 2021-07."""
    for pattern, end in _PERIOD_ENDS:
        match = pattern.match(label or "")
        if match:
            year = int(match.group(1))
            if 1900 <= year <= 2200:
                return end(year, int(match.group(2)) if match.lastindex > 1 else 0)
    return None


class ActualRow(RowForm):
    key_fields = ("kind_id", "period", "period_end", "value")
    kind_id = _kind_field()
    period = text_field(
        _l("Period"), 20, required=True, description=_l("2021, 2021-Q3, 2021-H1 or 2021-07")
    )
    period_end = FriendlyDateField(_l("Period ends"))
    value = MoneyField(_l("Actual"), validators=[Required(_l("Enter the value."))])


class ProjectForm(VersionedForm):
    name = text_field(_l("Name"), 300, required=True)
    name_zh = text_field(_l("Chinese name"), 200)
    status = SelectField(_l("Status"), choices=choices(PROJECT_STATUSES), default="planned")
    start_date = FriendlyDateField(_l("Start"))
    end_date = FriendlyDateField(_l("End"))
    budget_amount = MoneyField(_l("Budget"))
    budget_currency = currency_field(_l("Budget currency"))
    owner = SelectField(
        _l("Lead"),
        coerce=int,
        validators=[Optional()],
        description=_l("The colleague who leads the project. Only managers may reassign it."),
    )
    description = long_text_field(_l("Description"))
    agreement_links = Rows(AgreementRow, _l("Agreements it came out of"))
    partners = Rows(PartnerRow, _l("Partners"))
    milestones = Rows(MilestoneRow, _l("Milestones"))
    indicators = Rows(IndicatorRow, _l("Outcome indicators"))
    actuals = Rows(ActualRow, _l("Actuals"))

    def validate(self, extra_validators=None) -> bool:
        """Field checks first, then the rules that compare fields and rows with each other."""
        valid = super().validate(extra_validators)
        self._failed = False
        start, end = self.start_date.data, self.end_date.data
        if start and end and end < start:
            self._fail(self.end_date, _l("The end cannot be before the start."))
        before = len(self.budget_currency.errors)
        money_pair_errors(self.budget_amount, self.budget_currency)
        self._failed |= len(self.budget_currency.errors) > before
        self._check_duplicates(
            self.agreement_links, ("agreement",), "agreement", _l("This agreement is listed twice.")
        )
        self._check_duplicates(
            self.partners,
            ("partner", "role"),
            "partner",
            _l("The same organisation is listed twice in the same role."),
        )
        self._check_indicators()
        self._check_actuals()
        return valid and not self._failed

    def _fail(self, field, message) -> None:
        field.errors = [*field.errors, message]
        self._failed = True

    def _check_duplicates(self, rows, keys, at, message) -> None:
        seen = set()
        for row in rows.filled():
            key = tuple(row[k].data for k in keys)
            if None in key:
                continue
            if key in seen:
                self._fail(row[at], message)
            seen.add(key)

    def _check_indicators(self) -> None:
        kinds = queries.indicator_kinds()
        seen = set()
        for row in self.indicators.filled():
            kind = kinds.get(row.kind_id.data)
            if kind is None:
                continue
            if kind.id in seen:
                self._fail(row.kind_id, _l("This indicator is listed twice."))
            seen.add(kind.id)
            if kind.is_money and not row.currency.data:
                self._fail(row.currency, _l("Choose the currency of this indicator."))
            if not kind.is_money and row.currency.data:
                self._fail(row.currency, _l("Only money indicators have a currency."))

    def _check_actuals(self) -> None:
        listed = {row.kind_id.data for row in self.indicators.filled()}
        seen = set()
        for row in self.actuals.filled():
            row.period.data = normalize_period(row.period.data)
            if row.period_end.data is None and not row.period_end.errors and row.period.data:
                row.period_end.data = period_end_of(row.period.data)
                if row.period_end.data is None:
                    self._fail(
                        row.period_end,
                        _l("Enter the last day of the period (or write it as 2021 or 2021-Q3)."),
                    )
            kind_id = row.kind_id.data
            if kind_id is None:
                continue
            if kind_id not in listed:
                self._fail(
                    row.kind_id,
                    _l("This project has no such indicator: add it above, or remove this row."),
                )
            key = (kind_id, (row.period.data or "").casefold())
            if row.period.data and key in seen:
                self._fail(row.period, _l("This period is already reported for this indicator."))
            seen.add(key)

    def has_errors(self) -> bool:
        """Whether any field or row field shows an error (for the banner above the form)."""
        for field in self:
            if field.errors and not isinstance(field, Rows):
                return True
            if isinstance(field, Rows):
                for entry in field.entries:
                    if any(sub.errors for sub in entry.form):
                        return True
                if any(isinstance(e, str) for e in field.errors):
                    return True
        return bool(self.form_errors)


MEASURES = {"count": _l("A count (people, enterprises, filings ...)"), "money": _l("Money")}


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class IndicatorKindForm(FlaskForm):
    """An admin adds a kind of outcome indicator."""

    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(
                r"^[a-z][a-z0-9_]*\Z",
                message=_l(
                    "Use lower-case letters, digits and underscores, starting with a letter."
                ),
            ),
        ],
        filters=[strip_or_none, _lower],
        description=_l("Lower-case letters, digits and underscores, such as patents_granted."),
    )
    name_en = text_field(_l("English name"), 200, required=True)
    name_zh = text_field(_l("Chinese name"), 100)
    measure = SelectField(_l("Measured as"), choices=options(MEASURES.items()), default="count")
    unit = text_field(_l("Unit"), 50, description=_l("For counts, such as people or filings."))
