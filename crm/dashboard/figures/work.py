"""The work in hand: live activities in the period per staff member, open milestones overdue
and due in the next 30 days, and overdue follow-ups (counts with their lists, and the top
20 rows of each list). For follow-ups the owner filter means the assignee.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.activities.models import Activity, FollowUp
from crm.activities.queries import follow_up_about_partner
from crm.activities.queries import with_partner as activity_with_partner
from crm.auth.models import User
from crm.dashboard.figures.filters import TOP, DashboardFilters, Drill, Figure, day_start
from crm.dashboard.figures.projects import live_projects
from crm.db import db
from crm.projects.models import Milestone, Project

MILESTONE_WINDOW = timedelta(days=30)


def activities_per_staff(f: DashboardFilters) -> dict:
    """Live activities in the period per owner (top 20) and in all, in one statement."""
    n = func.count(Activity.id)
    query = (
        select(Activity.owner_id, User.name, n, func.sum(n).over())
        .outerjoin(User, User.id == Activity.owner_id)
        .where(
            Activity.archived_at.is_(None),
            Activity.occurred_at >= day_start(f.start),
            Activity.occurred_at < day_start(f.end + timedelta(days=1)),
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


def _milestones(f: DashboardFilters, *columns):
    return (
        live_projects(f, *columns)
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
