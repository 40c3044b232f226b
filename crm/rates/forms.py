"""The exchange-rate form: year, the two currencies, the rate and where it comes from."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange, ValidationError

from crm.forms import FriendlyDecimal, VersionedForm, text_field
from crm.vocab import CURRENCIES, options


class RateField(FriendlyDecimal):
    """A rate: more than zero, at most eight decimals, kept as typed on error."""

    not_a_number = _l("Enter a rate such as 9.1234.")

    def check(self, value: Decimal) -> None:
        if value <= 0:
            raise ValueError(_l("A rate is more than zero."))
        if value.as_tuple().exponent < -8:
            raise ValueError(_l("Use at most eight decimals."))
        if value >= Decimal("1e12"):
            raise ValueError(_l("This rate is too large."))


def _currency(label):
    return SelectField(
        label,
        choices=options([(c, c) for c in CURRENCIES]),
        validators=[DataRequired()],
    )


class RateForm(VersionedForm):
    year = IntegerField(
        _l("Year"),
        validators=[
            InputRequired(_l("Enter a year such as 2024.")),
            NumberRange(min=1900, max=2200, message=_l("Enter a year between 1900 and 2200.")),
        ],
    )
    currency = _currency(_l("Currency"))
    quote = _currency(_l("Worth in (reporting currency)"))
    rate = RateField(
        _l("Rate"),
        description=_l("What one unit of the currency was worth in the reporting currency."),
    )
    source = text_field(_l("Source"), 300, description=_l("Where the rate comes from."))

    def validate_rate(self, field):
        if field.data is None and not field.errors:
            raise ValidationError(_l("Enter the rate."))

    def validate_quote(self, field):
        if field.data and field.data == self.currency.data:
            raise ValidationError(_l("Choose a currency other than the one converted."))
