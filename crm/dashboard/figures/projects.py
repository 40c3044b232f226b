"""Project figures: live projects by status today; started, active (ran) and completed in
the period and in the previous one. `live_projects` is the page's filters applied to
projects (the indicator and milestone figures read it too).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, select

from crm.dashboard.figures.filters import DashboardFilters, Drill, Figure, among
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project, ProjectPartner
from crm.projects.queries import running_from
from crm.vocab import PROJECT_STATUSES

# Project statuses that count as having run ("active in the period").
RAN = ("active", "on_hold", "completed")


def live_projects(f: DashboardFilters, *columns):
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
        live_projects(
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
