"""The dashboard's period and filters, and what every figure is made of.

`parse_filters` reads the page's URL: the period (default: the current year), owner,
partner kind and country, and the reporting currency; `DashboardFilters` turns them into
conditions and into the URL arguments each list understands, so a figure's `Drill` leads
to exactly the records counted. Shared by every family of figures: `among` (an IN that
keeps the index plan), `day_start` (a UTC day's first instant) and `report_rates` (the
exchange rates into the reporting currency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import literal_column, select

from crm.db import db
from crm.forms import FriendlyDateField
from crm.listing import parse_id
from crm.partners.models import Partner
from crm.rates.models import ExchangeRate
from crm.vocab import PARTNER_KINDS

TOP = 20
DEFAULT_CURRENCY = "CNY"


@dataclass(frozen=True)
class Drill:
    """Where a figure leads: a list endpoint and the URL filters reproducing the figure."""

    endpoint: str
    args: dict


@dataclass
class DashboardFilters:
    """The page's filters, read from the URL; values not understood are kept in `errors`."""

    start: date
    end: date
    owner: int | None = None
    kind: str | None = None
    country: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # The reporting currency money is converted into (the URL's `currency`, or the default).
    report: str = DEFAULT_CURRENCY

    @property
    def previous(self) -> tuple[date, date]:
        """The period of equal length just before this one."""
        prev_end = self.start - timedelta(days=1)
        return prev_end - (self.end - self.start), prev_end

    def url_args(self) -> dict:
        """The filters as URL arguments, to keep them in the page's own links."""
        args = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for name in ("owner", "kind", "country"):
            value = getattr(self, name)
            if value:
                args[name] = value
        args["currency"] = self.report
        return args

    def owner_args(self) -> dict:
        return {"owner": self.owner} if self.owner else {}

    def partner_conditions(self) -> list:
        """Conditions on a partner for the kind and country filters (both: one partner)."""
        conditions = []
        if self.kind:
            conditions.append(Partner.kind == self.kind)
        if self.country:
            conditions.append(Partner.country == self.country)
        return conditions

    def link_args(self) -> dict:
        """Owner, and partner kind / country as the agreement, project, activity and
        milestone lists name them (records linked to such a partner)."""
        args = self.owner_args()
        if self.kind:
            args["partner_kind"] = self.kind
        if self.country:
            args["partner_country"] = self.country
        return args

    def partner_args(self) -> dict:
        args = self.owner_args()
        if self.kind:
            args["kind"] = self.kind
        if self.country:
            args["country"] = self.country
        return args


def parse_filters(
    args, today: date | None = None, default_currency: str = DEFAULT_CURRENCY
) -> DashboardFilters:
    """Period (default: the current year), owner, partner kind and country, and the
    reporting currency, from the URL."""
    today = today or date.today()
    errors: dict[str, str] = {}

    def day(name, default):
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors[name] = raw
            return default
        # The page reckons days around the period (the previous one, the day after):
        # the years the record forms accept, so that never overflows.
        if not FriendlyDateField.FIRST_YEAR <= value.year <= FriendlyDateField.LAST_YEAR:
            errors[name] = raw
            return default
        return value

    start = day("from", date(today.year, 1, 1))
    end = day("to", date(today.year, 12, 31))
    if end < start:
        errors["to"] = end.isoformat()
        end = date(start.year, 12, 31)
    owner = kind = country = None
    raw = (args.get("owner") or "").strip()
    if raw:
        try:
            owner = parse_id(raw)
        except ValueError:
            errors["owner"] = raw
    raw = (args.get("kind") or "").strip()
    if raw:
        if raw in PARTNER_KINDS:
            kind = raw
        else:
            errors["kind"] = raw
    raw = (args.get("country") or "").strip()
    if raw:
        if len(raw) == 2 and raw.isascii() and raw.isalpha():
            country = raw.upper()
        else:
            errors["country"] = raw
    report = default_currency
    raw = (args.get("currency") or "").strip()
    if raw:
        if len(raw) == 3 and raw.isascii() and raw.isalpha():
            report = raw.upper()
        else:
            errors["currency"] = raw
    return DashboardFilters(start, end, owner, kind, country, errors, report)


@dataclass
class Figure:
    """A number on the page and the list that shows exactly the records behind it."""

    label: object
    value: int
    drill: Drill | None = None
    code: str = ""


def among(column, ids):
    """`column IN (ids)` as a filter on rows found otherwise. SQLite would drive the
    query from the list of ids when the column is a rowid, reading each matching row
    from the table; `column + 0` makes it keep its plan (a range of a covering index)
    and look each id up in the list, built once. PostgreSQL plans both alike."""
    return (column + literal_column("0")).in_(ids)


def report_rates(f: DashboardFilters) -> dict:
    """Every live rate in one statement: the reporting currencies there are rates into,
    and (year, currency) -> rate into the chosen one."""
    rows = db.session.execute(
        select(
            ExchangeRate.year, ExchangeRate.currency, ExchangeRate.quote, ExchangeRate.rate
        ).where(ExchangeRate.archived_at.is_(None))
    ).all()
    quotes = sorted({quote for _, _, quote, _ in rows} | {f.report})
    into = {(year, cur): Decimal(rate) for year, cur, quote, rate in rows if quote == f.report}
    return {"quotes": quotes, "into": into}


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)
