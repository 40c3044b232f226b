"""ExchangeRate: what one unit of a currency was worth in a reporting currency in a year."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import db
from crm.records import RecordMixin


class ExchangeRate(RecordMixin, db.Model):
    """1 `currency` = `rate` `quote` for amounts dated in `year` (a yearly average, say).

    One row per (year, currency, quote): a rate no longer wanted is archived, and adding
    it again restores that row, so the audit trail keeps one history per rate.
    """

    __tablename__ = "exchange_rate"
    __audit_type__ = "exchange_rate"
    __table_args__ = (
        UniqueConstraint("year", "currency", "quote"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("currency <> quote", name="different_currencies"),
        CheckConstraint("year >= 1900 AND year <= 2200", name="year_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    quote: Mapped[str] = mapped_column(String(3), nullable=False, index=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 8), nullable=False)
    source: Mapped[str | None] = mapped_column(String(300))

    @property
    def display_name(self) -> str:
        return f"{self.year}: 1 {self.currency} = {format(self.rate.normalize(), 'f')} {self.quote}"
