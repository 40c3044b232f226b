"""Writes on exchange rates. Nothing here commits: the view commits once per request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.db import db
from crm.rates.models import ExchangeRate
from crm.records import RecordError


class RateError(RecordError):
    """A save refused, with a message per field."""


def save_rate(rate: ExchangeRate | None, form, actor) -> ExchangeRate:
    """Create or change a rate from a validated form.

    A (year, currency, reporting currency) already kept by another live rate is refused;
    an archived one for the same key is restored with the new value instead of a second
    row being made.
    """
    key = (form.year.data, form.currency.data, form.quote.data)
    same = db.session.scalar(
        select(ExchangeRate).where(
            ExchangeRate.year == key[0],
            ExchangeRate.currency == key[1],
            ExchangeRate.quote == key[2],
        )
    )
    if same is not None and same is not rate:
        if same.archived_at is None or rate is not None:
            raise RateError(
                {"year": str(_l("A rate for this year and these currencies exists already."))}
            )
        same.restore(actor)
        rate = same
    if rate is None:
        rate = ExchangeRate()
        db.session.add(rate)
    rate.year, rate.currency, rate.quote = key
    rate.rate = form.rate.data
    rate.source = form.source.data
    rate.stamp(actor)
    return rate
