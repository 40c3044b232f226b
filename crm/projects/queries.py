"""Reads on projects: the list with its filters and sorts, the detail page's data, and the
indicator kinds the forms offer."""

from __future__ import annotations

from datetime import date

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.db import db
from crm.listing import (
    Filter,
    Sort,
    archived_filter,
    choice_filter,
    date_filter,
    hide_archived,
    list_query,
    page_of,
    parse_id,
)
from crm.projects.models import (
    Indicator,
    IndicatorKind,
    Project,
    ProjectPartner,
    project_agreement,
)
from crm.text import like_pattern
from crm.vocab import PROJECT_STATUSES

SORTS = {
    "name": Sort(_l("Name"), [Project.sort_name]),
    "status": Sort(_l("Status"), [Project.status, Project.start_sort]),
    "start": Sort(_l("Start"), [Project.start_sort]),
    "updated": Sort(_l("Updated"), [Project.updated_at], default_desc=True),
}


def _quick(query, value):
    return query.where(Project.search_text.like(like_pattern(value), escape="\\"))


def _owner(query, value):
    return query.where(Project.owner_id == parse_id(value))


def _partner(query, value):
    taking_part = select(ProjectPartner.project_id).where(
        ProjectPartner.partner_id == parse_id(value)
    )
    return query.where(Project.id.in_(taking_part))


def _agreement(query, value):
    came_from = select(project_agreement.c.project_id).where(
        project_agreement.c.agreement_id == parse_id(value)
    )
    return query.where(Project.id.in_(came_from))


FILTERS = [
    Filter("q", _quick),
    Filter("status", choice_filter(Project.status, PROJECT_STATUSES), multi=True),
    Filter("owner", _owner),
    Filter("partner", _partner),
    Filter("agreement", _agreement),
    Filter("started_from", date_filter(Project.start_date, "from")),
    Filter("started_to", date_filter(Project.start_date, "to")),
    Filter("archived", archived_filter(Project)),
]


def project_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    query = select(Project).options(
        joinedload(Project.owner),
        selectinload(Project.partners).joinedload(ProjectPartner.partner),
    )
    query = hide_archived(query, Project, args)
    return list_query(query, Project, sorts=SORTS, default_sort="name", filters=FILTERS, args=args)


def project_page(args=None):
    """One page of the project list, partners loaded for every row in one statement."""
    return page_of(project_list(args), args=args)


def project_detail(project_id: int):
    """The project with everything its page shows, in a fixed number of statements."""
    from crm.crud import load_or_404

    project = load_or_404(
        Project,
        project_id,
        joinedload(Project.owner),
        joinedload(Project.created_by),
        joinedload(Project.updated_by),
        selectinload(Project.agreements),
        selectinload(Project.partners).joinedload(ProjectPartner.partner),
        selectinload(Project.milestones),
        selectinload(Project.indicators).options(
            joinedload(Indicator.kind), selectinload(Indicator.actuals)
        ),
    )
    # Dated milestones in order, undated ones after them (NULLs sort differently by database).
    milestones = sorted(
        project.milestones, key=lambda m: (m.due_on is None, m.due_on or date.min, m.id)
    )
    return {"project": project, "milestones": milestones}


def project_for_edit(project_id: int):
    """The project with every row its form shows."""
    from crm.crud import load_or_404

    return load_or_404(
        Project,
        project_id,
        selectinload(Project.agreements),
        selectinload(Project.partners).joinedload(ProjectPartner.partner),
        selectinload(Project.milestones),
        selectinload(Project.indicators).selectinload(Indicator.actuals),
    )


def indicator_kinds() -> dict[int, IndicatorKind]:
    """Every indicator kind by id (active or not), read once per request.

    The project form asks for them row by row; one query serves every row.
    """
    cached = g.get("_indicator_kinds")
    if cached is None:
        kinds = db.session.scalars(select(IndicatorKind).order_by(IndicatorKind.id)).all()
        cached = {kind.id: kind for kind in kinds}
        g._indicator_kinds = cached
    return cached


def forget_indicator_kinds() -> None:
    """Drop the per-request cache after kinds were added or changed."""
    g.pop("_indicator_kinds", None)
