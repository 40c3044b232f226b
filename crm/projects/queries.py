"""Reads on projects: the list with its filters and sorts, the detail page's data, and the
indicator kinds the forms offer."""

from __future__ import annotations

from datetime import date

from flask import g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
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
    partner_match_filters,
)
from crm.partners.models import Partner
from crm.projects.models import (
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Project,
    ProjectPartner,
    project_agreement,
    with_partner,
)
from crm.records import load_or_404
from crm.text import like_pattern
from crm.vocab import PARTNER_KINDS, PROJECT_STATUSES

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


def _partner(query, values):
    """Projects every one of these partners takes part in (a network link: two)."""
    ids = {parse_id(v) for v in values}
    if len(ids) > 10:
        raise ValueError(values)
    for partner_id in sorted(ids):
        taking_part = select(ProjectPartner.project_id).where(
            ProjectPartner.partner_id == partner_id
        )
        query = query.where(Project.id.in_(taking_part))
    return query


def running_from(day: date):
    """Projects not ended before `day` (no end date: still running)."""
    return or_(Project.end_date.is_(None), Project.end_date >= day)


def _running_from(query, value):
    return query.where(running_from(date.fromisoformat(value)))


def _running_to(query, value):
    """Projects started on or before the day (a project with no start date never ran)."""
    return query.where(Project.start_date <= date.fromisoformat(value))


def indicator_clause(code: str, currency: str | None, reported: tuple | None):
    """EXISTS an indicator of kind `code` on the project: in that currency ("none": none
    given) when set, and with an actual for a period ending in `reported` (from, to)."""
    conditions = [
        Indicator.project_id == Project.id,
        IndicatorKind.id == Indicator.kind_id,
        IndicatorKind.code == code,
    ]
    if currency == "none":
        conditions.append(or_(Indicator.currency.is_(None), Indicator.currency == ""))
    elif currency:
        conditions.append(Indicator.currency == currency)
    if reported:
        start, end = reported
        conditions.append(
            exists().where(
                IndicatorActual.indicator_id == Indicator.id,
                IndicatorActual.period_end >= start,
                IndicatorActual.period_end <= end,
            )
        )
    return exists().where(*conditions)


def indicator_filters(args) -> list[Filter]:
    """indicator=<kind code>, with optional indicator_currency (a code or "none") and
    reported_from / reported_to (an actual reported for a period ending then), all on one
    and the same indicator. The dashboard's indicator figures drill down here."""

    def code_of(value):
        value = (value or "").strip()
        if not value or len(value) > 40 or not value.replace("_", "").isalnum():
            raise ValueError(value)
        return value

    def currency_of(value):
        value = (value or "").strip()
        if value == "none":
            return value
        if len(value) != 3 or not (value.isascii() and value.isalpha()):
            raise ValueError(value)
        return value.upper()

    def parts():
        code = code_of(args.get("indicator"))
        currency = (
            currency_of(args["indicator_currency"]) if args.get("indicator_currency") else None
        )
        start, end = args.get("reported_from"), args.get("reported_to")
        reported = None
        if start or end:
            reported = (
                date.fromisoformat(start) if start else date.min,
                date.fromisoformat(end) if end else date.max,
            )
        return code, currency, reported

    def apply(query, value):
        code_of(value)
        return query.where(indicator_clause(*parts()))

    def checked(parse):
        def apply_part(query, value):
            parse(value)
            code_of(args.get("indicator"))  # only meaningful with an indicator
            return query

        return apply_part

    return [
        Filter("indicator", apply),
        Filter("indicator_currency", checked(currency_of)),
        Filter("reported_from", checked(date.fromisoformat)),
        Filter("reported_to", checked(date.fromisoformat)),
    ]


def _agreement(query, value):
    came_from = select(project_agreement.c.project_id).where(
        project_agreement.c.agreement_id == parse_id(value)
    )
    return query.where(Project.id.in_(came_from))


FILTERS = [
    Filter("q", _quick),
    Filter("status", choice_filter(Project.status, PROJECT_STATUSES), multi=True),
    Filter("owner", _owner),
    Filter("partner", _partner, multi=True),
    Filter("agreement", _agreement),
    Filter("started_from", date_filter(Project.start_date, "from")),
    Filter("started_to", date_filter(Project.start_date, "to")),
    Filter("ended_from", date_filter(Project.end_date, "from")),
    Filter("ended_to", date_filter(Project.end_date, "to")),
    Filter("running_from", _running_from),
    Filter("running_to", _running_to),
    Filter("archived", archived_filter(Project)),
]


def list_filters(args=None) -> list[Filter]:
    """Every filter of the list: the fixed ones and those that read several arguments."""
    return [*FILTERS, *partner_filters(args), *indicator_filters(args)]


def project_list(args=None):
    """The list's filtered, sorted query: the page pages it, the export streams it."""
    query = select(Project).options(
        joinedload(Project.owner),
        selectinload(Project.partners).joinedload(ProjectPartner.partner),
    )
    args = request.args if args is None else args
    query = hide_archived(query, Project, args)
    return list_query(
        query, Project, sorts=SORTS, default_sort="name", filters=list_filters(args), args=args
    )


def project_page(args=None):
    """One page of the project list, partners loaded for every row in one statement."""
    return page_of(project_list(args), args=args)


def partner_filters(args):
    """partner_kind / partner_country: projects with a partner of that kind or country."""

    return partner_match_filters(args, with_partner, Partner.kind, Partner.country, PARTNER_KINDS)


def project_detail(project_id: int):
    """The project with everything its page shows, in a fixed number of statements."""

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
