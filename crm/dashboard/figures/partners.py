"""Partner figures: live partners by relationship, kind and country, new and active in the
period and in the previous one, and the active partners going cold (no activity in 180
days). Status, kind, new and going-cold figures fold the rows of one statement,
`partner_groups`, which reads ix_partner_figures alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from crm.activities.models import activity_partner
from crm.dashboard.figures.filters import TOP, DashboardFilters, Drill, Figure, day_start
from crm.db import UTCDateTime, db
from crm.partners.models import Partner
from crm.partners.queries import active_between, partners_met_or_signed
from crm.vocab import PARTNER_KINDS, PARTNER_STATUSES

COLD = timedelta(days=180)
TOP_COUNTRIES = 15


def _partners(f: DashboardFilters, *columns):
    query = select(*columns).where(Partner.archived_at.is_(None))
    if f.owner:
        query = query.where(Partner.owner_id == f.owner)
    if conditions := f.partner_conditions():
        query = query.where(*conditions)
    return query


def _created(start: date, end: date):
    return and_(
        Partner.created_at >= day_start(start),
        Partner.created_at < day_start(end + timedelta(days=1)),
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
        partners = partners_met_or_signed(start, end).subquery()
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
    cutoff = day_start(today - COLD)
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
