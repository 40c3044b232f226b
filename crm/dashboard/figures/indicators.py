"""Project outcomes: per indicator kind, targets against actuals in the period, in the
previous one and to date, the actuals per year for the charts, and money kinds converted
into the reporting currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Integer, case, cast, extract, func, select

from crm.dashboard.figures.filters import DashboardFilters, Drill, Figure
from crm.dashboard.figures.projects import live_projects
from crm.db import db
from crm.projects.models import Indicator, IndicatorActual, IndicatorKind, Project
from crm.rates.queries import Conversion

# Indicator charts go back this many years from the period's end.
INDICATOR_YEARS = 10


@dataclass(frozen=True)
class KindInfo:
    """What the page shows of an indicator kind: plain values, safe to keep in the cache."""

    id: int
    code: str
    name_en: str
    name_zh: str | None
    is_money: bool
    unit: str | None
    active: bool

    def label(self, locale: str = "en") -> str:
        return self.name_zh if str(locale).startswith("zh") and self.name_zh else self.name_en


@dataclass
class YearActual:
    """An indicator's actuals reported for periods ending in one calendar year."""

    year: int
    value: Decimal
    projects: Figure


@dataclass
class IndicatorFigure:
    """One indicator kind's actuals against its targets, in one currency for money."""

    kind: KindInfo
    currency: str | None
    target: Decimal = Decimal(0)
    actual_period: Decimal = Decimal(0)
    actual_previous: Decimal = Decimal(0)
    actual_to_date: Decimal = Decimal(0)
    projects: Figure | None = None
    years: dict[int, YearActual] = field(default_factory=dict)

    @property
    def progress(self) -> float | None:
        return float(self.actual_to_date / self.target) if self.target else None

    @property
    def key(self) -> str:
        """A stable id for the page: the kind's code, and the currency for money."""
        return (
            f"{self.kind.code}-{self.currency or 'none'}" if self.kind.is_money else self.kind.code
        )

    def timeline(self) -> list[YearActual]:
        """Years in order, each with its actual and the running total up to it."""
        return [self.years[y] for y in sorted(self.years)]


@dataclass
class MoneyIndicator:
    """A money kind over every currency, converted into the reporting currency."""

    kind: KindInfo
    target: Conversion
    actual_period: Conversion
    actual_previous: Conversion
    actual_to_date: Conversion


def indicators(f: DashboardFilters, rates: dict) -> dict:
    """Per indicator kind: targets, actuals in the period, in the previous period and up to
    the period's end, of live projects, and the actuals per year for the charts.

    Money is summed per currency, never across currencies; each money kind is also
    converted into the reporting currency: actuals with the rate of the year their period
    ends in, targets with the rate of the year the chosen period ends in. Three statements.
    """
    prev_start, prev_end = f.previous
    kinds = {
        k.id: KindInfo(k.id, k.code, k.name_en, k.name_zh, k.is_money, k.unit, k.active)
        for k in db.session.scalars(select(IndicatorKind).order_by(IndicatorKind.id))
    }
    targets = db.session.execute(
        live_projects(
            f,
            Indicator.kind_id,
            Indicator.currency,
            func.coalesce(func.sum(Indicator.target), 0),
            func.count(Indicator.id),
        )
        .join(Indicator, Indicator.project_id == Project.id)
        .group_by(Indicator.kind_id, Indicator.currency)
    ).all()
    year = cast(extract("year", IndicatorActual.period_end), Integer)
    in_period = IndicatorActual.period_end >= f.start
    in_previous = IndicatorActual.period_end.between(prev_start, prev_end)
    actuals = db.session.execute(
        live_projects(
            f,
            Indicator.kind_id,
            Indicator.currency,
            year,
            func.coalesce(func.sum(case((in_period, IndicatorActual.value), else_=0)), 0),
            func.coalesce(func.sum(case((in_previous, IndicatorActual.value), else_=0)), 0),
            func.coalesce(func.sum(IndicatorActual.value), 0),
            func.count(func.distinct(Indicator.project_id)),
        )
        .join(Indicator, Indicator.project_id == Project.id)
        .join(IndicatorActual, IndicatorActual.indicator_id == Indicator.id)
        .where(IndicatorActual.period_end <= f.end)
        .group_by(Indicator.kind_id, Indicator.currency, year)
    ).all()
    # Folding a handful of aggregated rows: non-money kinds ignore any stray currency.
    figures: dict[tuple, IndicatorFigure] = {}
    money: dict[int, MoneyIndicator] = {}

    def drill_args(kind, currency, **extra):
        args = {**f.link_args(), "indicator": kind.code, **extra}
        if kind.is_money:
            args["indicator_currency"] = currency or "none"
        return args

    def slot(kind_id, currency):
        kind = kinds[kind_id]
        key = (kind_id, (currency or None) if kind.is_money else None)
        if key not in figures:
            figures[key] = IndicatorFigure(kind, key[1])
            figures[key].projects = Figure(
                "projects", 0, Drill("projects.index", drill_args(kind, key[1]))
            )
        if kind.is_money and kind_id not in money:
            money[kind_id] = MoneyIndicator(kind, *(Conversion(f.report) for _ in range(4)))
        return figures[key]

    for kind_id, currency, target, n in targets:
        entry = slot(kind_id, currency)
        entry.target += Decimal(target)
        entry.projects.value += n
        if entry.kind.is_money:
            money[kind_id].target.add(Decimal(target), entry.currency, f.end.year, rates["into"])
    oldest = f.end.year - INDICATOR_YEARS + 1
    for kind_id, currency, y, period_sum, previous_sum, to_date, n in actuals:
        entry = slot(kind_id, currency)
        y = int(y)
        entry.actual_period += Decimal(period_sum)
        entry.actual_previous += Decimal(previous_sum)
        entry.actual_to_date += Decimal(to_date)
        if y >= oldest:
            if y not in entry.years:
                args = drill_args(
                    entry.kind,
                    entry.currency,
                    reported_from=date(y, 1, 1).isoformat(),
                    reported_to=date(y, 12, 31).isoformat(),
                )
                entry.years[y] = YearActual(
                    y, Decimal(0), Figure(str(y), 0, Drill("projects.index", args))
                )
            entry.years[y].value += Decimal(to_date)
            entry.years[y].projects.value += n
        if entry.kind.is_money:
            m = money[kind_id]
            m.actual_period.add(Decimal(period_sum), entry.currency, y, rates["into"])
            m.actual_previous.add(Decimal(previous_sum), entry.currency, y, rates["into"])
            m.actual_to_date.add(Decimal(to_date), entry.currency, y, rates["into"])
    for kind in kinds.values():
        if kind.active and not any(k == kind.id for k, _ in figures):
            slot(kind.id, None)
    order = defaultdict(int, {k: i for i, k in enumerate(kinds)})
    rows = sorted(figures.values(), key=lambda x: (order[x.kind.id], x.currency or ""))
    return {
        "rows": rows,
        "money": [money[k] for k in sorted(money, key=lambda k: order[k])],
    }
