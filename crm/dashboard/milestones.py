"""The milestones list: open or done milestones of live projects, by due day.

The dashboard's "milestones due or overdue" figures drill down here; the home page's
"milestones due" links here too. Filters mirror the projects list's where they overlap
(owner of the project, partner kind and country of a project partner).
"""

from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from crm.listing import Filter, Sort, date_filter, int_filter, paginate
from crm.projects.models import Milestone, Project
from crm.projects.queries import partner_filters

SORTS = {"due": Sort(_l("Due on"), [Milestone.due_on])}


def _open(query, value):
    if value == "1":
        return query.where(Milestone.done_on.is_(None))
    if value == "0":
        return query.where(Milestone.done_on.is_not(None))
    raise ValueError(value)


FILTERS = [
    Filter("open", _open),
    Filter("due_from", date_filter(Milestone.due_on, "from")),
    Filter("due_to", date_filter(Milestone.due_on, "to")),
    Filter("owner", int_filter(Project.owner_id)),
    Filter("project", int_filter(Milestone.project_id)),
]


def milestone_page(args=None):
    """One page of milestones with a due day, of live projects, each with its project."""
    args = request.args if args is None else args
    query = (
        select(Milestone)
        .join(Milestone.project)
        .where(Project.archived_at.is_(None), Milestone.due_on.is_not(None))
        .options(contains_eager(Milestone.project))
    )
    return paginate(
        query,
        Milestone,
        sorts=SORTS,
        default_sort="due",
        filters=[*FILTERS, *partner_filters(args)],
        args=args,
    )
