"""The managers' dashboard, assembled: every figure of crm.dashboard.figures computed for
the page's filters (`aggregates`, what the cache keeps), then the two short lists read
each time (`dashboard_data`, what the view renders).
"""

from __future__ import annotations

from datetime import date

from crm.dashboard.figures.agreements import (
    agreement_values,
    agreements_by_stage,
    agreements_signed,
    signed_in_periods,
    signed_per_quarter,
)
from crm.dashboard.figures.deadlines import SOON, deadlines, expiring
from crm.dashboard.figures.filters import DashboardFilters, report_rates
from crm.dashboard.figures.indicators import indicators
from crm.dashboard.figures.partners import (
    going_cold,
    new_and_active_partners,
    partner_groups,
    partners_by_country,
    partners_by_status_and_kind,
)
from crm.dashboard.figures.projects import projects_figures
from crm.dashboard.figures.work import (
    activities_per_staff,
    due_counts,
    milestones_due,
    overdue_follow_ups,
)


def aggregates(f: DashboardFilters, today: date) -> dict:
    """The figures, charts and computed lists: plain values only, so they can be cached."""
    projects = projects_figures(f)
    groups = partner_groups(f)
    partners = partners_by_status_and_kind(f, groups)
    people = new_and_active_partners(f, groups)
    rates = report_rates(f)
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
