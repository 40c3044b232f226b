"""Reads for the managers' dashboard: every figure an aggregate computed in SQL.

Each figure carries its drill-down: the list endpoint and the URL filters that list
understands, chosen so the list shows exactly the records counted. The page's filters
apply to everything: owner (of the record; assignee for follow-ups), and partner kind and
country: the partners themselves, or the records linked to such a partner (an agreement
party, a project partner, a partner an activity is linked to, the record a follow-up is
about). Where a figure shares a clause with its list it uses it; where the dashboard
needs another form of the same condition to stay fast at 100k partners (matching
partners first, a covering index, several figures folded into one statement), it selects
the same records, and the tests check every drill-down count against its figure.

Speed: each statement reads a covering index over the period or window it concerns
(see the indexes named in the docstrings); the number of statements is fixed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import joinedload

from crm.activities.models import Activity, FollowUp, activity_partner
from crm.activities.queries import follow_up_about_partner
from crm.activities.queries import with_partner as activity_with_partner
from crm.agreements.models import Agreement, AgreementParty
from crm.auth.models import User
from crm.db import UTCDateTime, db
from crm.forms import FriendlyDateField
from crm.listing import parse_id
from crm.partners.models import Partner
from crm.partners.queries import active_between
from crm.projects.models import (
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Milestone,
    Project,
    ProjectPartner,
)
from crm.projects.queries import running_from
from crm.rates.models import ExchangeRate
from crm.rates.queries import Conversion
from crm.vocab import (
    AGREEMENT_STAGES,
    AGREEMENT_TYPES,
    PARTNER_KINDS,
    PARTNER_STATUSES,
    PROJECT_STATUSES,
)

SOON = timedelta(days=90)
COLD = timedelta(days=180)
# Notice periods longer than this are not looked for (as on the home page).
LONGEST_NOTICE = timedelta(days=3650)
# How far back an auto-renewing agreement's first expiry may lie and still be rolled.
ROLLING_BACK = timedelta(days=3650)
DEADLINE_CANDIDATES = 500
MILESTONE_WINDOW = timedelta(days=30)
TOP = 20
TOP_COUNTRIES = 15
# Indicator charts go back this many years from the period's end.
INDICATOR_YEARS = 10
# Project statuses that count as having run ("active in the period").
RAN = ("active", "on_hold", "completed")
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


# --- agreements ---------------------------------------------------------------------------


def among(column, ids):
    """`column IN (ids)` as a filter on rows found otherwise. SQLite would drive the
    query from the list of ids when the column is a rowid, reading each matching row
    from the table; `column + 0` makes it keep its plan (a range of a covering index)
    and look each id up in the list, built once. PostgreSQL plans both alike."""
    return (column + literal_column("0")).in_(ids)


def _agreements(f: DashboardFilters, *columns, all_time: bool = False):
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
        _agreements(
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
            _agreements(f, Agreement.stage, func.count(Agreement.id), all_time=True).group_by(
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


def _signed_expiring(start: date, end: date):
    """Signed agreements whose recorded expiry falls between two days. `auto_renew IN
    (false, true)` (always true) lets the expiry range use ix_agreement_stage_expiry."""
    return and_(
        Agreement.stage == "signed",
        Agreement.auto_renew.in_([False, True]),
        Agreement.expires_on.between(start, end),
    )


def expiring(f: DashboardFilters, today: date) -> dict:
    """Signed agreements whose recorded expiry falls in the next 90 days: how many."""
    count = db.session.scalar(
        _agreements(f, func.count(Agreement.id)).where(_signed_expiring(today, today + SOON))
    )
    args = {
        **f.link_args(),
        "stage": "signed",
        "expires_from": today.isoformat(),
        "expires_to": (today + SOON).isoformat(),
        "sort": "expires",
    }
    return {"figure": Figure("expiring", count, Drill("agreements.index", args))}


@dataclass(frozen=True)
class Deadline:
    """A signed agreement with a notice deadline or an expiry in the next 90 days."""

    agreement_id: int
    title: str
    notice: date | None
    end: date | None
    first: date
    notice_due: bool
    end_due: bool


def _days_between(later, earlier):
    """Whole days from `earlier` to `later` (two dates) as an SQL integer."""
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier  # PostgreSQL: date - date is an integer


def deadlines(f: DashboardFilters, today: date) -> dict:
    """Notice deadlines and expiries in the next 90 days, soonest first (top 20), and how
    many there are in all: one statement.

    The day each signed agreement's current term ends is computed in SQL as
    Agreement.current_term_end does: its recorded expiry, or for an auto-renewing one
    whose expiry has passed, rolled forward by whole terms (effective_from to expires_on)
    to the first end on or after today; its notice deadline is that day less the notice
    period (Agreement.notice_deadline). Only candidates are read, from
    ix_agreement_stage_expiry alone: expiring from today on, no further than the longest
    notice looked for (ten years), and auto-renewing ones expired in the last ten years.
    """
    horizon = SOON.days
    day = literal(today, Date)
    to_expiry = _days_between(Agreement.expires_on, day)
    term = _days_between(Agreement.expires_on, Agreement.effective_from) + 1
    rolls = and_(
        Agreement.auto_renew.is_(True),
        Agreement.effective_from.is_not(None),
        Agreement.expires_on < today,
    )
    # Days from today to the end of the current term (0 when it ends today).
    to_end = case((rolls, (term - (-to_expiry) % term) % term), else_=to_expiry)
    candidates = (
        _agreements(
            f,
            Agreement.id.label("id"),
            to_end.label("to_end"),
            Agreement.notice_days.label("notice_days"),
        )
        .where(
            Agreement.expires_on.is_not(None),
            or_(
                _signed_expiring(today, today + SOON + LONGEST_NOTICE),
                and_(
                    Agreement.stage == "signed",
                    rolls,
                    Agreement.expires_on >= today - ROLLING_BACK,
                ),
            ),
        )
        .subquery()
    )
    c = candidates.c
    to_notice = c.to_end - c.notice_days
    end_due = c.to_end.between(0, horizon)
    notice_due = and_(c.notice_days.is_not(None), to_notice.between(0, horizon))
    first = case((notice_due, to_notice), else_=c.to_end)
    top = (
        select(c.id, c.to_end, c.notice_days, func.count().over().label("total"))
        .where(or_(end_due, notice_due))
        .order_by(first, c.id)
        .limit(TOP)
        .subquery()
    )
    rows = db.session.execute(
        select(top.c.id, Agreement.title, Agreement.title_zh, top.c.to_end)
        .add_columns(top.c.notice_days, top.c.total)
        .join(Agreement, Agreement.id == top.c.id)
    ).all()
    found = []
    total = rows[0].total if rows else 0
    for agreement_id, title, title_zh, to_end_days, notice_days, _total in rows:
        end = today + timedelta(days=int(to_end_days))
        notice = end - timedelta(days=notice_days) if notice_days is not None else None
        end_due = today <= end <= today + SOON
        notice_due = notice is not None and today <= notice <= today + SOON
        first = notice if notice_due else end
        name = f"{title} · {title_zh}" if title_zh else title
        found.append(Deadline(agreement_id, name, notice, end, first, notice_due, end_due))
    found.sort(key=lambda row: (row.first, row.agreement_id))
    return {"rows": found, "total": int(total)}


# --- money --------------------------------------------------------------------------------


@dataclass
class MoneyFigure:
    """Agreement values in one currency: signed in the period and in the previous one."""

    currency: str
    amount: Decimal
    previous: Decimal
    count: Figure


def _rates(f: DashboardFilters) -> dict:
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


# --- partners -----------------------------------------------------------------------------


def _partners(f: DashboardFilters, *columns):
    query = select(*columns).where(Partner.archived_at.is_(None))
    if f.owner:
        query = query.where(Partner.owner_id == f.owner)
    if conditions := f.partner_conditions():
        query = query.where(*conditions)
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _created(start: date, end: date):
    return and_(
        Partner.created_at >= _day_start(start),
        Partner.created_at < _day_start(end + timedelta(days=1)),
    )


def partner_groups(f: DashboardFilters) -> list[tuple]:
    """Live partners by relationship and kind, with those created in the period and in
    the previous one (UTC days): one statement reading ix_partner_figures alone, whose
    few rows the status, kind, new-partner and going-cold figures fold."""
    prev_start, prev_end = f.previous
    return db.session.execute(
        _partners(
            f,
            Partner.status,
            Partner.kind,
            func.count(Partner.id),
            func.count(case((_created(f.start, f.end), Partner.id))),
            func.count(case((_created(prev_start, prev_end), Partner.id))),
        ).group_by(Partner.status, Partner.kind)
    ).all()


def partners_by_status_and_kind(f: DashboardFilters, groups: list[tuple] | None = None) -> dict:
    """Live partners by relationship and by kind, every code shown."""
    groups = partner_groups(f) if groups is None else groups
    kinds = PARTNER_KINDS
    if f.kind:
        # The page's kind filter already narrows the partners: other kinds would be zeros
        # whose links (kind=other) could not show "none".
        kinds = {f.kind: kinds[f.kind]}
    by_status: dict[str, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    for status, kind, n, *_created_counts in groups:
        by_status[status] += n
        by_kind[kind] += n

    def figures(counts, vocabulary, name):
        return [
            Figure(
                label,
                counts.get(code, 0),
                Drill("partners.index", {**f.partner_args(), name: code}),
                code,
            )
            for code, label in vocabulary.items()
        ]

    return {
        "statuses": figures(by_status, PARTNER_STATUSES, "status"),
        "kinds": figures(by_kind, kinds, "kind"),
    }


def partners_by_country(f: DashboardFilters) -> list[Figure]:
    """The countries with the most live partners (unknown country: country=none), read
    from ix_partner_countries alone."""
    count = func.count(Partner.id)
    rows = db.session.execute(
        _partners(f, Partner.country, count)
        .group_by(Partner.country)
        .order_by(count.desc(), Partner.country)
        .limit(TOP_COUNTRIES)
    ).all()
    return [
        Figure(
            code, n, Drill("partners.index", {**f.partner_args(), "country": code or "none"}), code
        )
        for code, n in rows
    ]


def new_and_active_partners(f: DashboardFilters, groups: list[tuple] | None = None) -> dict:
    """Live partners created in the period and in the previous one (from partner_groups),
    and those active in each (crm.partners.queries.active_between, the list's `active`
    filter): one statement whose two counts start from the period's activities and
    signed agreements, not from every partner.

    The drill-downs use the partners list's created_from / created_to and active filters.
    """
    prev_start, prev_end = f.previous
    groups = partner_groups(f) if groups is None else groups
    new_now = sum(row[3] for row in groups)
    new_before = sum(row[4] for row in groups)

    def active(start, end):
        if f.owner or f.partner_conditions():
            return _partners(f, func.count(Partner.id)).where(active_between(start, end))
        # No filter on the partners: count the partners met in the period (the events
        # active_between reads), leaving the few archived partners out by id rather
        # than reading each partner met from the table.
        link = activity_partner.c
        met = (
            select(link.partner_id.label("partner_id"))
            .join(Activity, Activity.id == link.activity_id)
            .where(
                Activity.occurred_at >= _day_start(start),
                Activity.occurred_at < _day_start(end + timedelta(days=1)),
                Activity.archived_at.is_(None),
            )
        )
        signed = (
            select(AgreementParty.partner_id)
            .join(Agreement, Agreement.id == AgreementParty.agreement_id)
            .where(
                Agreement.signed_on >= start,
                Agreement.signed_on <= end,
                Agreement.archived_at.is_(None),
            )
        )
        partners = union(met, signed).subquery()
        return (
            select(func.count())
            .select_from(partners)
            .where(
                partners.c.partner_id.not_in(
                    select(Partner.id).where(Partner.archived_at.is_not(None))
                )
            )
        )

    active_now, active_before = db.session.execute(
        select(
            active(f.start, f.end).scalar_subquery(),
            active(prev_start, prev_end).scalar_subquery(),
        )
    ).one()

    def new_drill(start, end):
        args = {**f.partner_args(), "created_from": start.isoformat()}
        return Drill("partners.index", {**args, "created_to": end.isoformat()})

    def active_drill(start, end):
        return Drill(
            "partners.index", {**f.partner_args(), "active": f"{start.isoformat()}..{end}"}
        )

    return {
        "new": {
            "current": Figure("new", new_now, new_drill(f.start, f.end)),
            "previous": Figure("new_previous", new_before, new_drill(prev_start, prev_end)),
            "previous_period": (prev_start, prev_end),
        },
        "active": {
            "current": Figure("active", active_now, active_drill(f.start, f.end)),
            "previous": Figure(
                "active_previous", active_before, active_drill(prev_start, prev_end)
            ),
            "previous_period": (prev_start, prev_end),
        },
    }


@dataclass(frozen=True)
class ColdPartner:
    partner_id: int
    name: str
    last_activity: datetime | None


def going_cold(f: DashboardFilters, today: date, groups: list[tuple] | None = None) -> dict:
    """Active live partners with no activity linked in the last 180 days (or none ever).

    How many: the active partners (from partner_groups) less those with a link since the
    cutoff, read from the links by time (ix_activity_partner_occurred), so the cost
    follows the last 180 days' activities, not the number of partners. The top 20 are
    those never contacted (by name, walking ix_partner_status_sort until 20 are found),
    then the longest silent: walking the links oldest first and keeping a partner's
    last one (no later link), until 20 are found. One statement for the count, one for
    the rows. The count drills down to the partners list's `silent_since` filter.
    """
    groups = partner_groups(f) if groups is None else groups
    cutoff = _day_start(today - COLD)
    link = activity_partner.c
    heard = db.session.scalar(
        _partners(f, func.count(func.distinct(link.partner_id)))
        .select_from(activity_partner)
        .join(Partner, Partner.id == link.partner_id)
        .where(link.occurred_at >= cutoff, Partner.status == "active")
    )
    total = sum(n for status, _kind, n, *_rest in groups if status == "active") - heard
    never = (
        _partners(f, Partner.id, Partner.name_en, Partner.name_zh, Partner.sort_name)
        .add_columns(cast(null(), UTCDateTime).label("last"), literal_column("0").label("part"))
        .where(
            Partner.status == "active",
            ~exists().where(link.partner_id == Partner.id),
        )
        .order_by(Partner.sort_name, Partner.id)
        .limit(TOP)
        .subquery()
    )
    later = activity_partner.alias()
    silent = (
        _partners(f, Partner.id, Partner.name_en, Partner.name_zh, Partner.sort_name)
        .add_columns(link.occurred_at.label("last"), literal_column("1").label("part"))
        .select_from(activity_partner)
        .join(Partner, Partner.id == link.partner_id)
        .where(
            Partner.status == "active",
            link.occurred_at < cutoff,
            ~exists().where(
                later.c.partner_id == link.partner_id,
                or_(
                    later.c.occurred_at > link.occurred_at,
                    and_(
                        later.c.occurred_at == link.occurred_at,
                        later.c.activity_id > link.activity_id,
                    ),
                ),
            ),
        )
        .order_by(link.occurred_at, Partner.sort_name, Partner.id)
        .limit(TOP)
        .subquery()
    )
    rows = [
        (part, _aware(last), sort_name, pid, en, zh)
        for pid, en, zh, sort_name, last, part in db.session.execute(
            union_all(select(silent), select(never))
        )
    ]
    # Never contacted first (by name), then the longest silent.
    rows.sort(key=lambda row: (row[0], row[1] or cutoff, row[2], row[3]))
    drill = Drill(
        "partners.index",
        {**f.partner_args(), "status": "active", "silent_since": (today - COLD).isoformat()},
    )
    return {
        "total": total,
        "figure": Figure("going_cold", total, drill),
        "cutoff": today - COLD,
        "rows": [
            ColdPartner(pid, f"{en} · {zh}" if zh else en, last)
            for _part, last, _sort, pid, en, zh in rows[:TOP]
        ],
    }


def _aware(value):
    """A max() over a UTC column comes back as the column stores it: make it aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# --- activities ---------------------------------------------------------------------------


def activities_per_staff(f: DashboardFilters) -> dict:
    """Live activities in the period per owner (top 20) and in all, in one statement."""
    n = func.count(Activity.id)
    query = (
        select(Activity.owner_id, User.name, n, func.sum(n).over())
        .outerjoin(User, User.id == Activity.owner_id)
        .where(
            Activity.archived_at.is_(None),
            Activity.occurred_at >= _day_start(f.start),
            Activity.occurred_at < _day_start(f.end + timedelta(days=1)),
        )
        .group_by(Activity.owner_id, User.name)
        .order_by(n.desc(), User.name, Activity.owner_id)
        .limit(TOP)
    )
    if f.owner:
        query = query.where(Activity.owner_id == f.owner)
    if conditions := f.partner_conditions():
        query = query.where(activity_with_partner(conditions))
    rows = db.session.execute(query).all()
    period = {"from": f.start.isoformat(), "to": f.end.isoformat()}
    linked = {k: v for k, v in f.link_args().items() if k != "owner"}
    figures = [
        Figure(
            name,
            count,
            Drill("activities.index", {"owner": owner_id, **linked, **period})
            if owner_id
            else None,
            str(owner_id or ""),
        )
        for owner_id, name, count, _total in rows
    ]
    total = int(rows[0][3]) if rows else 0
    return {
        "by_owner": figures,
        "total": Figure(
            "activities", total, Drill("activities.index", {**f.link_args(), **period})
        ),
    }


# --- projects -----------------------------------------------------------------------------


def _projects(f: DashboardFilters, *columns):
    """Live projects under the page's filters. A partner kind / country is read from the
    partners' side (matching partners, then their projects): the projects that
    crm.projects.queries.with_partner finds for the lists."""
    query = select(*columns).select_from(Project).where(Project.archived_at.is_(None))
    if f.owner:
        query = query.where(Project.owner_id == f.owner)
    if conditions := f.partner_conditions():
        query = query.where(
            among(
                Project.id,
                select(ProjectPartner.project_id)
                .join(Partner, Partner.id == ProjectPartner.partner_id)
                .where(*conditions),
            )
        )
    return query


def _ran(start: date, end: date):
    """Projects that ran in the period: active, on hold or completed now, started by its
    end and not ended before its start (the list's status + running_from/_to filters)."""
    return and_(Project.status.in_(RAN), Project.start_date <= end, running_from(start))


def _completed(start: date, end: date):
    return and_(Project.status == "completed", Project.end_date.between(start, end))


def projects_figures(f: DashboardFilters) -> dict:
    """Live projects by status today; started, active (ran) and completed in the period and
    in the previous one: one statement grouped by status."""
    prev_start, prev_end = f.previous
    started = Project.start_date.between(f.start, f.end)
    counted = {
        "started": started,
        "active": _ran(f.start, f.end),
        "active_previous": _ran(prev_start, prev_end),
        "completed": _completed(f.start, f.end),
        "completed_previous": _completed(prev_start, prev_end),
    }
    rows = db.session.execute(
        _projects(
            f,
            Project.status,
            func.count(Project.id),
            *[func.count(case((clause, Project.id))) for clause in counted.values()],
        ).group_by(Project.status)
    ).all()
    by_status = {row[0]: row[1] for row in rows}
    sums = {name: sum(row[2 + i] for row in rows) for i, name in enumerate(counted)}
    figures = [
        Figure(
            label,
            by_status.get(code, 0),
            Drill("projects.index", {**f.link_args(), "status": code}),
            code,
        )
        for code, label in PROJECT_STATUSES.items()
    ]

    def ran_drill(start, end):
        return Drill(
            "projects.index",
            {
                **f.link_args(),
                "status": list(RAN),
                "running_from": start.isoformat(),
                "running_to": end.isoformat(),
            },
        )

    def completed_drill(start, end):
        return Drill(
            "projects.index",
            {
                **f.link_args(),
                "status": "completed",
                "ended_from": start.isoformat(),
                "ended_to": end.isoformat(),
            },
        )

    started_args = {
        **f.link_args(),
        "started_from": f.start.isoformat(),
        "started_to": f.end.isoformat(),
    }
    return {
        "by_status": figures,
        "started": Figure("started", sums["started"], Drill("projects.index", started_args)),
        "active": {
            "current": Figure("active", sums["active"], ran_drill(f.start, f.end)),
            "previous": Figure(
                "active_previous", sums["active_previous"], ran_drill(prev_start, prev_end)
            ),
            "previous_period": (prev_start, prev_end),
        },
        "completed": {
            "current": Figure("completed", sums["completed"], completed_drill(f.start, f.end)),
            "previous": Figure(
                "completed_previous",
                sums["completed_previous"],
                completed_drill(prev_start, prev_end),
            ),
            "previous_period": (prev_start, prev_end),
        },
    }


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
    year = cast(extract("year", IndicatorActual.period_end), Integer)
    in_period = IndicatorActual.period_end >= f.start
    in_previous = IndicatorActual.period_end.between(prev_start, prev_end)
    actuals = db.session.execute(
        _projects(
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


# --- lists --------------------------------------------------------------------------------


def _milestones(f: DashboardFilters, *columns):
    return (
        _projects(f, *columns)
        .join(Milestone, Milestone.project_id == Project.id)
        .where(Milestone.done_on.is_(None))
    )


def _follow_ups(f: DashboardFilters, *columns):
    query = select(*columns).where(FollowUp.archived_at.is_(None), FollowUp.done_on.is_(None))
    if f.owner:
        query = query.where(FollowUp.assignee_id == f.owner)
    if conditions := f.partner_conditions():
        query = query.where(follow_up_about_partner(conditions))
    return query


def due_counts(f: DashboardFilters, today: date) -> dict:
    """Open milestones overdue and due in the next 30 days, and overdue follow-ups: three
    counts in one statement (scalar subqueries), each with its list."""
    soon = today + MILESTONE_WINDOW
    overdue_m = _milestones(f, func.count(Milestone.id)).where(Milestone.due_on < today)
    soon_m = _milestones(f, func.count(Milestone.id)).where(Milestone.due_on.between(today, soon))
    overdue_f = _follow_ups(f, func.count(FollowUp.id)).where(FollowUp.due_on < today)
    late, coming, follow = db.session.execute(
        select(overdue_m.scalar_subquery(), soon_m.scalar_subquery(), overdue_f.scalar_subquery())
    ).one()
    yesterday = today - timedelta(days=1)
    milestone_args = {**f.link_args(), "open": "1"}
    follow_args = {
        "assignee": f.owner or "all",
        "overdue": "1",
        **{k: v for k, v in f.link_args().items() if k != "owner"},
    }
    return {
        "milestones_overdue": Figure(
            "milestones_overdue",
            late,
            Drill("dashboard.milestones", {**milestone_args, "due_to": yesterday.isoformat()}),
        ),
        "milestones_soon": Figure(
            "milestones_soon",
            coming,
            Drill(
                "dashboard.milestones",
                {**milestone_args, "due_from": today.isoformat(), "due_to": soon.isoformat()},
            ),
        ),
        "follow_ups_overdue": Figure(
            "follow_ups_overdue", follow, Drill("activities.follow_ups", follow_args)
        ),
    }


def milestones_due(f: DashboardFilters, today: date) -> list[Milestone]:
    """Open milestones overdue or due within 30 days, soonest first (top 20)."""
    query = (
        _milestones(f, Milestone)
        .where(Milestone.due_on <= today + MILESTONE_WINDOW)
        .options(joinedload(Milestone.project))
        .order_by(Milestone.due_on, Milestone.id)
        .limit(TOP)
    )
    return list(db.session.scalars(query))


def overdue_follow_ups(f: DashboardFilters, today: date) -> list[FollowUp]:
    """Open follow-ups past their due day, oldest first (top 20); owner means assignee."""
    query = (
        _follow_ups(f, FollowUp)
        .where(FollowUp.due_on < today)
        .options(
            joinedload(FollowUp.assignee),
            joinedload(FollowUp.partner),
            joinedload(FollowUp.agreement),
            joinedload(FollowUp.project),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(TOP)
    )
    return list(db.session.scalars(query))


def aggregates(f: DashboardFilters, today: date) -> dict:
    """The figures, charts and computed lists: plain values only, so they can be cached."""
    projects = projects_figures(f)
    groups = partner_groups(f)
    partners = partners_by_status_and_kind(f, groups)
    people = new_and_active_partners(f, groups)
    rates = _rates(f)
    signed = signed_in_periods(f)
    return {
        "signed": agreements_signed(f, signed),
        "per_quarter": signed_per_quarter(f, signed),
        "by_stage": agreements_by_stage(f),
        "expiring": expiring(f, today),
        "deadlines": deadlines(f, today),
        "values": agreement_values(f, rates, signed),
        "report_currencies": rates["quotes"],
        "partner_statuses": partners["statuses"],
        "partner_kinds": partners["kinds"],
        "partner_countries": partners_by_country(f),
        "new_partners": people["new"],
        "active_partners": people["active"],
        "going_cold": going_cold(f, today, groups),
        "activities": activities_per_staff(f),
        "project_statuses": projects["by_status"],
        "projects_now": {fig.code: fig for fig in projects["by_status"]},
        "projects_active": projects["active"],
        "projects_completed": projects["completed"],
        "projects_started": projects["started"],
        "indicators": indicators(f, rates),
        "due": due_counts(f, today),
    }


def cache_key(f: DashboardFilters, today: date) -> tuple:
    return (today.isoformat(), *sorted(f.url_args().items()))


def dashboard_data(f: DashboardFilters, today: date | None = None, cache=None) -> dict:
    """Everything the page shows, in a fixed number of statements whatever the data.

    `cache(key, compute)` keeps the aggregates (crm.dashboard.cache); the two short lists
    of ORM rows (milestones, follow-ups) are read each time.
    """
    today = today or date.today()
    if cache is None:
        agg = aggregates(f, today)
    else:
        agg = cache(cache_key(f, today), lambda: aggregates(f, today))
    return {
        **agg,
        "filters": f,
        "today": today,
        "milestones": milestones_due(f, today),
        "follow_ups": overdue_follow_ups(f, today),
        "soon_until": today + SOON,
    }
