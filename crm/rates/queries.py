"""Reads on exchange rates, and converting sums of money with them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from crm.db import db
from crm.rates.models import ExchangeRate


def rate_list():
    """Every rate, live ones first, newest year first."""
    return db.session.scalars(
        select(ExchangeRate).order_by(
            ExchangeRate.archived_at.is_not(None),
            ExchangeRate.quote,
            ExchangeRate.year.desc(),
            ExchangeRate.currency,
            ExchangeRate.id,
        )
    ).all()


def rates_to(quote: str) -> dict[tuple[int, str], Decimal]:
    """(year, currency) -> rate into `quote`, live rates only (one statement)."""
    rows = db.session.execute(
        select(ExchangeRate.year, ExchangeRate.currency, ExchangeRate.rate).where(
            ExchangeRate.quote == quote, ExchangeRate.archived_at.is_(None)
        )
    ).all()
    return {(year, currency): Decimal(rate) for year, currency, rate in rows}


def quote_currencies() -> list[str]:
    """The reporting currencies admins keep rates into."""
    return list(
        db.session.scalars(
            select(ExchangeRate.quote)
            .where(ExchangeRate.archived_at.is_(None))
            .distinct()
            .order_by(ExchangeRate.quote)
        )
    )


@dataclass
class Conversion:
    """A sum converted into one currency: what was converted with which rate, and what
    could not be (no rate, or no currency given), which is never added in."""

    quote: str
    total: Decimal = Decimal(0)
    used: dict[tuple[str, int], Decimal] = field(default_factory=dict)
    missing: dict[tuple[str | None, int], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )

    def add(self, amount: Decimal, currency: str | None, year: int, rates) -> None:
        if not amount:
            return
        if currency == self.quote:
            self.total += amount
            return
        rate = rates.get((year, currency)) if currency else None
        if rate is None:
            self.missing[(currency, year)] += amount
            return
        self.total += amount * rate
        self.used[(currency, year)] = rate

    @property
    def complete(self) -> bool:
        return not self.missing
