"""Agreement figures: signed in the period and in the previous one, per quarter and type,
every live agreement by stage, and the values signed per currency and converted.

`live_agreements` is the page's filters applied to agreements (the deadlines read it too).
The signed figures and the values fold the few rows of one statement, `signed_in_periods`,
which reads only the index on the signing day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Integer, and_, case, cast, exists, extract, func, select

from crm.agreements.models import Agreement, AgreementParty
from crm.dashboard.figures.filters import DashboardFilters, Drill, Figure, among
from crm.db import db
from crm.partners.models import Partner
from crm.rates.queries import Conversion
from crm.vocab import AGREEMENT_STAGES, AGREEMENT_TYPES


def live_agreements(f: DashboardFilters, *columns, all_time: bool = False):
    """Live agreements under the page's filters. A partner kind / country means a party
    of that kind / country (the records crm.agreements.queries.with_party finds for the
    lists), looked for from the smaller side: figures bounded by a period or a window
    probe the parties of each agreement in it (EXISTS, from the covering index on
    agreement_party); all-time figures (`all_time`) start from the matching partners and
    their agreements instead, rather than probing every agreement."""
    query = select(*columns).where(Agreement.archived_at.is_(None))
    if f.owner:
        query = query.where(Agreement.owner_id == f.owner)
    if conditions := f.partner_conditions():
        if all_time:
            query = query.where(
                among(
                    Agreement.id,
                    select(AgreementParty.agreement_id)
                    .join(Partner, Partner.id == AgreementParty.partner_id)
                    .where(*conditions),
                )
            )
        else:
            query = query.where(
                exists(
                    select(AgreementParty.partner_id)
                    .join(Partner, Partner.id == AgreementParty.partner_id)
                    .where(AgreementParty.agreement_id == Agreement.id, *conditions)
                )
            )
    return query


def _signed_between(start: date, end: date):
    return Agreement.signed_on.between(start, end)


def _quarter(month_column):
    return case((month_column <= 3, 1), (month_column <= 6, 2), (month_column <= 9, 3), else_=4)


def signed_in_periods(f: DashboardFilters) -> list[tuple]:
    """The agreements signed in the period and in the previous one, grouped by year,
    quarter, type and currency: counts and values in each period. One statement, reading
    only the index on the signing day (ix_agreement_signed_figures) over the two periods;
    agreements_signed, signed_per_quarter and agreement_values fold its few rows."""
    prev_start, _prev_end = f.previous
    now = _signed_between(f.start, f.end)
    valued = Agreement.value_amount.is_not(None)
    year = cast(extract("year", Agreement.signed_on), Integer)
    quarter = _quarter(cast(extract("month", Agreement.signed_on), Integer))
    return db.session.execute(
        live_agreements(
            f,
            year,
            quarter,
            Agreement.type,
            Agreement.value_currency,
            func.count(case((now, Agreement.id))),
            func.count(case((now, None), else_=Agreement.id)),
            func.count(case((and_(now, valued), Agreement.id))),
            func.count(case((now, None), else_=case((valued, Agreement.id)))),
            func.sum(case((now, Agreement.value_amount))),
            func.sum(case((now, None), else_=Agreement.value_amount)),
        )
        .where(_signed_between(prev_start, f.end))
        .group_by(year, quarter, Agreement.type, Agreement.value_currency)
    ).all()


def agreements_signed(f: DashboardFilters, rows: list[tuple] | None = None) -> dict:
    """Agreements signed in the period and in the previous one."""
    prev_start, prev_end = f.previous
    rows = signed_in_periods(f) if rows is None else rows
    now = sum(row[4] for row in rows)
    before = sum(row[5] for row in rows)

    def drill(start, end):
        return Drill(
            "agreements.index",
            {**f.link_args(), "signed_from": start.isoformat(), "signed_to": end.isoformat()},
        )

    return {
        "current": Figure("signed", now, drill(f.start, f.end)),
        "previous": Figure("signed_previous", before, drill(prev_start, prev_end)),
        "previous_period": (prev_start, prev_end),
    }


def signed_per_quarter(f: DashboardFilters, rows: list[tuple] | None = None) -> dict:
    """Agreements signed in the period, per quarter and type (quarters cut to the period)."""
    rows = signed_in_periods(f) if rows is None else rows
    quarters = []
    q_year, q = f.start.year, (f.start.month - 1) // 3 + 1
    while date(q_year, 3 * q - 2, 1) <= f.end:
        quarters.append((q_year, q))
        q_year, q = (q_year, q + 1) if q < 4 else (q_year + 1, 1)
    counts: dict[tuple, int] = defaultdict(int)
    for y, qq, kind, _currency, n, *_rest in rows:
        counts[(int(y), int(qq), kind)] += n
    series = []
    for code, label in AGREEMENT_TYPES.items():
        points = []
        for y, qq in quarters:
            first = max(date(y, 3 * qq - 2, 1), f.start)
            last = min(_quarter_end(y, qq), f.end)
            args = {
                **f.link_args(),
                "type": code,
                "signed_from": first.isoformat(),
                "signed_to": last.isoformat(),
            }
            points.append(
                Figure(f"{y} Q{qq}", counts.get((y, qq, code), 0), Drill("agreements.index", args))
            )
        if any(p.value for p in points):
            series.append({"code": code, "label": label, "points": points})
    return {"quarters": [f"{y} Q{qq}" for y, qq in quarters], "series": series}


def _quarter_end(year: int, quarter: int) -> date:
    if quarter == 4:
        return date(year, 12, 31)
    return date(year, 3 * quarter + 1, 1) - timedelta(days=1)


def agreements_by_stage(f: DashboardFilters) -> list[Figure]:
    """Every live agreement by its stage today (ix_agreement_stage_expiry alone)."""
    rows = dict(
        db.session.execute(
            live_agreements(f, Agreement.stage, func.count(Agreement.id), all_time=True).group_by(
                Agreement.stage
            )
        ).all()
    )
    return [
        Figure(
            label,
            rows.get(code, 0),
            Drill("agreements.index", {**f.link_args(), "stage": code}),
            code,
        )
        for code, label in AGREEMENT_STAGES.items()
    ]


@dataclass
class MoneyFigure:
    """Agreement values in one currency: signed in the period and in the previous one."""

    currency: str
    amount: Decimal
    previous: Decimal
    count: Figure


def agreement_values(f: DashboardFilters, rates: dict, rows: list[tuple] | None = None) -> dict:
    """Values of agreements signed in the period and in the previous one, per currency
    (never added across currencies), and both converted into the reporting currency with
    the rate of each agreement's signing year."""
    rows = signed_in_periods(f) if rows is None else rows
    # (currency, year) -> [amount now, amount before, valued now, valued before]
    sums: dict[tuple, list] = {}
    for y, _q, _type, currency, _n, _before, valued, valued_before, amount, before in rows:
        if not (valued or valued_before):
            continue
        entry = sums.setdefault((currency or None, int(y)), [Decimal(0), Decimal(0), 0, 0])
        entry[0] += Decimal(amount or 0)
        entry[1] += Decimal(before or 0)
        entry[2] += valued
        entry[3] += valued_before
    per: dict[str | None, list] = {}
    current, previous = Conversion(f.report), Conversion(f.report)
    for (currency, y), (amount, before, n, _n_before) in sorted(
        sums.items(), key=lambda item: (item[0][0] or "", item[0][1])
    ):
        entry = per.setdefault(currency, [Decimal(0), Decimal(0), 0])
        entry[0] += amount
        entry[1] += before
        entry[2] += n
        current.add(amount, currency, y, rates["into"])
        previous.add(before, currency, y, rates["into"])
    figures = []
    for currency in sorted(per, key=lambda c: c or ""):
        amount, before, n = per[currency]
        drill = None
        if currency:
            drill = Drill(
                "agreements.index",
                {
                    **f.link_args(),
                    "currency": currency,
                    "signed_from": f.start.isoformat(),
                    "signed_to": f.end.isoformat(),
                },
            )
        figures.append(MoneyFigure(currency or "", amount, before, Figure(currency, n, drill)))
    return {"per_currency": figures, "converted": current, "converted_previous": previous}
