"""Agreements coming due: how many signed agreements expire in the next 90 days, and the
notice deadlines and expiries in that window, soonest first (the current term of an
auto-renewing agreement rolled forward in SQL). The home page lists its owner's with
`deadlines` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Date, Integer, and_, case, cast, func, literal, or_, select

from crm.agreements.models import Agreement
from crm.dashboard.figures.agreements import live_agreements
from crm.dashboard.figures.filters import TOP, DashboardFilters, Drill, Figure
from crm.db import db

SOON = timedelta(days=90)
# Notice periods longer than this are not looked for (as on the home page).
LONGEST_NOTICE = timedelta(days=3650)
# How far back an auto-renewing agreement's first expiry may lie and still be rolled.
ROLLING_BACK = timedelta(days=3650)


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
        live_agreements(f, func.count(Agreement.id)).where(_signed_expiring(today, today + SOON))
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
        live_agreements(
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
