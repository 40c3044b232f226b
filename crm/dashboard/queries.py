"""Reads for the managers' dashboard: every figure an aggregate computed in SQL.

Each figure carries its drill-down: the list endpoint and the URL filters that list
understands, chosen so the list shows exactly the records counted. Filters a list does not
have are not applied to its figures (the page says which filters apply where), so a
drill-down never shows more or fewer records than its figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Integer, case, cast, extract, func, select
from sqlalchemy.orm import joinedload

from crm.activities.models import FollowUp
from crm.agreements.models import Agreement
from crm.db import db
from crm.listing import parse_id
from crm.partners.models import Partner
from crm.projects.models import Indicator, IndicatorActual, IndicatorKind, Milestone, Project
from crm.vocab import AGREEMENT_STAGES, AGREEMENT_TYPES, PARTNER_KINDS, PROJECT_STATUSES

SOON = timedelta(days=90)
MILESTONE_WINDOW = timedelta(days=30)
TOP = 20
TOP_COUNTRIES = 15


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
        return args

    def owner_args(self) -> dict:
        return {"owner": self.owner} if self.owner else {}

    def partner_args(self) -> dict:
        args = self.owner_args()
        if self.kind:
            args["kind"] = self.kind
        if self.country:
            args["country"] = self.country
        return args


def parse_filters(args, today: date | None = None) -> DashboardFilters:
    """Period (default: the current year), owner, partner kind and country from the URL."""
    today = today or date.today()
    errors: dict[str, str] = {}

    def day(name, default):
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = raw
            return default

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
    return DashboardFilters(start, end, owner, kind, country, errors)


@dataclass
class Figure:
    """A number on the page and the list that shows exactly the records behind it."""

    label: object
    value: int
    drill: Drill | None = None
    code: str = ""


# --- agreements ---------------------------------------------------------------------------


def _agreements(f: DashboardFilters, *columns):
    query = select(*columns).where(Agreement.archived_at.is_(None))
    if f.owner:
        query = query.where(Agreement.owner_id == f.owner)
    return query


def _signed_between(start: date, end: date):
    return Agreement.signed_on.between(start, end)


def agreements_signed(f: DashboardFilters) -> dict:
    """Agreements signed in the period and in the previous one, in one statement."""
    prev_start, prev_end = f.previous
    now, before = db.session.execute(
        _agreements(
            f,
            func.count(case((_signed_between(f.start, f.end), Agreement.id))),
            func.count(case((_signed_between(prev_start, prev_end), Agreement.id))),
        )
    ).one()

    def drill(start, end):
        return Drill(
            "agreements.index",
            {**f.owner_args(), "signed_from": start.isoformat(), "signed_to": end.isoformat()},
        )

    return {
        "current": Figure("signed", now, drill(f.start, f.end)),
        "previous": Figure("signed_previous", before, drill(prev_start, prev_end)),
        "previous_period": (prev_start, prev_end),
    }


def _quarter(month_column):
    return case((month_column <= 3, 1), (month_column <= 6, 2), (month_column <= 9, 3), else_=4)


def signed_per_quarter(f: DashboardFilters) -> dict:
    """Agreements signed in the period, per quarter and type (quarters cut to the period)."""
    year = cast(extract("year", Agreement.signed_on), Integer)
    quarter = _quarter(cast(extract("month", Agreement.signed_on), Integer))
    rows = db.session.execute(
        _agreements(f, year, quarter, Agreement.type, func.count(Agreement.id))
        .where(_signed_between(f.start, f.end))
        .group_by(year, quarter, Agreement.type)
    ).all()
    quarters = []
    q_year, q = f.start.year, (f.start.month - 1) // 3 + 1
    while date(q_year, 3 * q - 2, 1) <= f.end:
        quarters.append((q_year, q))
        q_year, q = (q_year, q + 1) if q < 4 else (q_year + 1, 1)
    counts = {(int(y), int(qq), t): n for y, qq, t, n in rows}
    series = []
    for code, label in AGREEMENT_TYPES.items():
        points = []
        for y, qq in quarters:
            first = max(date(y, 3 * qq - 2, 1), f.start)
            last = min(_quarter_end(y, qq), f.end)
            args = {
                **f.owner_args(),
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
    """Every live agreement by its stage today."""
    rows = dict(
        db.session.execute(
            _agreements(f, Agreement.stage, func.count(Agreement.id)).group_by(Agreement.stage)
        ).all()
    )
    return [
        Figure(
            label,
            rows.get(code, 0),
            Drill("agreements.index", {**f.owner_args(), "stage": code}),
            code,
        )
        for code, label in AGREEMENT_STAGES.items()
    ]


def expiring(f: DashboardFilters, today: date) -> dict:
    """Signed agreements whose expiry falls in the next 90 days: how many, and the first 20."""
    window = _agreements(f, Agreement).where(
        Agreement.stage == "signed", Agreement.expires_on.between(today, today + SOON)
    )
    count = db.session.scalar(
        select(func.count()).select_from(window.with_only_columns(Agreement.id).subquery())
    )
    rows = db.session.scalars(
        window.options(joinedload(Agreement.owner))
        .order_by(Agreement.expires_on, Agreement.id)
        .limit(TOP)
    ).all()
    args = {
        **f.owner_args(),
        "stage": "signed",
        "expires_from": today.isoformat(),
        "expires_to": (today + SOON).isoformat(),
        "sort": "expires",
    }
    return {"figure": Figure("expiring", count, Drill("agreements.index", args)), "rows": rows}


# --- partners -----------------------------------------------------------------------------


def _partners(f: DashboardFilters, *columns):
    query = select(*columns).where(Partner.archived_at.is_(None))
    if f.owner:
        query = query.where(Partner.owner_id == f.owner)
    if f.kind:
        query = query.where(Partner.kind == f.kind)
    if f.country:
        query = query.where(Partner.country == f.country)
    return query


def partners_by(f: DashboardFilters, column, vocabulary, name: str) -> list[Figure]:
    """Live partners grouped by a coded column (status or kind), every code shown."""
    rows = dict(
        db.session.execute(_partners(f, column, func.count(Partner.id)).group_by(column)).all()
    )
    if name == "kind" and f.kind:
        # The page's kind filter already narrows the partners: other kinds would be zeros
        # whose links (kind=other) could not show "none".
        vocabulary = {f.kind: vocabulary[f.kind]}
    return [
        Figure(
            label,
            rows.get(code, 0),
            Drill("partners.index", {**f.partner_args(), name: code}),
            code,
        )
        for code, label in vocabulary.items()
    ]


def partners_by_country(f: DashboardFilters) -> list[Figure]:
    """The countries with the most live partners (unknown country shown without a link)."""
    count = func.count(Partner.id)
    rows = db.session.execute(
        _partners(f, Partner.country, count)
        .group_by(Partner.country)
        .order_by(count.desc(), Partner.country)
        .limit(TOP_COUNTRIES)
    ).all()
    figures = []
    for code, n in rows:
        drill = Drill("partners.index", {**f.partner_args(), "country": code}) if code else None
        figures.append(Figure(code, n, drill, code))
    return figures


# --- projects -----------------------------------------------------------------------------


def _projects(f: DashboardFilters, *columns):
    query = select(*columns).select_from(Project).where(Project.archived_at.is_(None))
    if f.owner:
        query = query.where(Project.owner_id == f.owner)
    return query


def projects_by_status(f: DashboardFilters) -> dict:
    """Live projects by status today, and how many started in the period (one statement)."""
    started = Project.start_date.between(f.start, f.end)
    rows = db.session.execute(
        _projects(
            f, Project.status, func.count(Project.id), func.count(case((started, Project.id)))
        ).group_by(Project.status)
    ).all()
    by_status = {status: n for status, n, _ in rows}
    started_count = sum(s for _, _, s in rows)
    figures = [
        Figure(
            label,
            by_status.get(code, 0),
            Drill("projects.index", {**f.owner_args(), "status": code}),
            code,
        )
        for code, label in PROJECT_STATUSES.items()
    ]
    args = {**f.owner_args(), "started_from": f.start.isoformat(), "started_to": f.end.isoformat()}
    return {
        "by_status": figures,
        "started": Figure("started", started_count, Drill("projects.index", args)),
    }


@dataclass
class IndicatorFigure:
    """One indicator kind's actuals against its targets, in one currency for money."""

    kind: IndicatorKind
    currency: str | None
    target: Decimal = Decimal(0)
    actual_period: Decimal = Decimal(0)
    actual_to_date: Decimal = Decimal(0)
    projects: int = 0

    @property
    def progress(self) -> float | None:
        return float(self.actual_to_date / self.target) if self.target else None


def indicators(f: DashboardFilters) -> list[IndicatorFigure]:
    """Per indicator kind: targets, actuals in the period and up to its end, of live projects.

    Money is summed per currency, never across currencies.
    """
    kinds = {k.id: k for k in db.session.scalars(select(IndicatorKind).order_by(IndicatorKind.id))}
    targets = db.session.execute(
        _projects(
            f,
            Indicator.kind_id,
            Indicator.currency,
            func.coalesce(func.sum(Indicator.target), 0),
            func.count(Indicator.id),
        )
        .join(Indicator, Indicator.project_id == Project.id)
        .group_by(Indicator.kind_id, Indicator.currency)
    ).all()
    in_period = IndicatorActual.period_end >= f.start
    actuals = db.session.execute(
        _projects(
            f,
            Indicator.kind_id,
            Indicator.currency,
            func.coalesce(func.sum(case((in_period, IndicatorActual.value), else_=0)), 0),
            func.coalesce(func.sum(IndicatorActual.value), 0),
        )
        .join(Indicator, Indicator.project_id == Project.id)
        .join(IndicatorActual, IndicatorActual.indicator_id == Indicator.id)
        .where(IndicatorActual.period_end <= f.end)
        .group_by(Indicator.kind_id, Indicator.currency)
    ).all()
    # Folding a handful of aggregated rows: non-money kinds ignore any stray currency.
    figures: dict[tuple, IndicatorFigure] = {}

    def slot(kind_id, currency):
        kind = kinds[kind_id]
        key = (kind_id, (currency or None) if kind.is_money else None)
        if key not in figures:
            figures[key] = IndicatorFigure(kind, key[1])
        return figures[key]

    for kind_id, currency, target, n in targets:
        entry = slot(kind_id, currency)
        entry.target += Decimal(target)
        entry.projects += n
    for kind_id, currency, period_sum, to_date in actuals:
        entry = slot(kind_id, currency)
        entry.actual_period += Decimal(period_sum)
        entry.actual_to_date += Decimal(to_date)
    for kind in kinds.values():
        if kind.active and not any(k == kind.id for k, _ in figures):
            slot(kind.id, None)
    order = defaultdict(int, {k: i for i, k in enumerate(kinds)})
    return sorted(figures.values(), key=lambda x: (order[x.kind.id], x.currency or ""))


# --- lists --------------------------------------------------------------------------------


def milestones_due(f: DashboardFilters, today: date) -> list[Milestone]:
    """Open milestones overdue or due within 30 days, soonest first (top 20)."""
    query = (
        _projects(f, Milestone)
        .join(Milestone, Milestone.project_id == Project.id)
        .where(Milestone.done_on.is_(None), Milestone.due_on <= today + MILESTONE_WINDOW)
        .options(joinedload(Milestone.project))
        .order_by(Milestone.due_on, Milestone.id)
        .limit(TOP)
    )
    return list(db.session.scalars(query))


def overdue_follow_ups(f: DashboardFilters, today: date) -> list[FollowUp]:
    """Open follow-ups past their due day, oldest first (top 20); owner means assignee."""
    query = (
        select(FollowUp)
        .where(FollowUp.archived_at.is_(None), FollowUp.done_on.is_(None), FollowUp.due_on < today)
        .options(
            joinedload(FollowUp.assignee),
            joinedload(FollowUp.partner),
            joinedload(FollowUp.agreement),
            joinedload(FollowUp.project),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(TOP)
    )
    if f.owner:
        query = query.where(FollowUp.assignee_id == f.owner)
    return list(db.session.scalars(query))


def dashboard_data(f: DashboardFilters, today: date | None = None) -> dict:
    """Everything the page shows, in a fixed number of statements whatever the data."""
    from crm.vocab import PARTNER_STATUSES

    today = today or date.today()
    projects = projects_by_status(f)
    by_status = {fig.code: fig for fig in projects["by_status"]}
    return {
        "filters": f,
        "today": today,
        "signed": agreements_signed(f),
        "per_quarter": signed_per_quarter(f),
        "by_stage": agreements_by_stage(f),
        "expiring": expiring(f, today),
        "partner_statuses": partners_by(f, Partner.status, PARTNER_STATUSES, "status"),
        "partner_kinds": partners_by(f, Partner.kind, PARTNER_KINDS, "kind"),
        "partner_countries": partners_by_country(f),
        "project_statuses": projects["by_status"],
        "projects_active": by_status["active"],
        "projects_completed": by_status["completed"],
        "projects_started": projects["started"],
        "indicators": indicators(f),
        "milestones": milestones_due(f, today),
        "follow_ups": overdue_follow_ups(f, today),
        "soon_until": today + SOON,
    }
