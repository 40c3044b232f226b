"""Writes on projects and indicator kinds. Nothing here commits: the view commits once per
request (the demo loader and the CLI call these too)."""

from __future__ import annotations

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.db import db, write_aside
from crm.projects import queries
from crm.projects.models import (
    STANDARD_INDICATORS,
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Milestone,
    Project,
    ProjectPartner,
)
from crm.records import RecordError, sync_children


class ProjectError(RecordError):
    """A save refused, with a message per field ("name" or a row path "indicators-1-kind_id")."""


def ensure_standard_indicator_kinds() -> list[IndicatorKind]:
    """Create the standard indicator kinds that do not exist yet; returns those created.

    An admin may have deactivated one: it stays deactivated.
    """
    existing = set(db.session.scalars(select(IndicatorKind.code)))
    created = []
    for code, name_en, name_zh, is_money, unit in STANDARD_INDICATORS:
        if code not in existing:
            kind = IndicatorKind(
                code=code, name_en=name_en, name_zh=name_zh, is_money=is_money, unit=unit
            )
            db.session.add(kind)
            created.append(kind)
    if created:
        db.session.flush()
        queries.forget_indicator_kinds()
    return created


def add_standard_indicator_kinds_apart() -> bool:
    """For a read (a form being shown): add the missing standard kinds apart from the
    request's transaction, which is then ended so that what follows sees them.

    A read transaction must not write (see `crm.db.write_aside`); the insert leaves kinds
    that exist, or that a concurrent request just added, alone. Returns whether kinds
    were missing.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    existing = set(db.session.scalars(select(IndicatorKind.code)))
    rows = [
        {
            "code": code,
            "name_en": en,
            "name_zh": zh,
            "is_money": money,
            "unit": unit,
            "active": True,
        }
        for code, en, zh, money, unit in STANDARD_INDICATORS
        if code not in existing
    ]
    if not rows:
        return False
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(IndicatorKind).values(rows).on_conflict_do_nothing()
    write_aside(statement, what="the standard indicator kinds")
    db.session.rollback()
    queries.forget_indicator_kinds()
    return True


def add_indicator_kind(
    code: str, name_en: str, name_zh: str | None, is_money: bool, unit: str | None
) -> IndicatorKind:
    """Add a kind of indicator; a code already taken is refused."""
    code = code.strip().lower()
    if db.session.scalar(select(IndicatorKind.id).where(IndicatorKind.code == code)):
        raise ProjectError({"code": str(_l("This code is already used by another kind."))})
    kind = IndicatorKind(
        code=code,
        name_en=name_en,
        name_zh=name_zh,
        is_money=is_money,
        unit=None if is_money else unit,
        active=True,
    )
    db.session.add(kind)
    db.session.flush()
    queries.forget_indicator_kinds()
    return kind


def set_indicator_kind_active(kind: IndicatorKind, active: bool) -> None:
    """Deactivate (no longer offered on project forms) or reactivate a kind.

    Projects that already report on a deactivated kind keep it, with all its figures.
    """
    kind.active = active
    queries.forget_indicator_kinds()


def _check(project: Project, form) -> dict[str, str]:
    """What the database knows and the form cannot: kinds deactivated since."""
    errors: dict[str, str] = {}
    kinds = queries.indicator_kinds()
    held = {indicator.kind_id for indicator in project.indicators} if project.id else set()
    for entry in form.indicators.entries:
        row = entry.form
        if row.is_blank():
            continue
        kind = kinds.get(row.kind_id.data)
        if kind is not None and not kind.active and kind.id not in held:
            errors[f"indicators-{entry.index}-kind_id"] = str(
                _l("This kind of indicator is no longer offered.")
            )
    return errors


def save_project(project: Project | None, form, actor, *, may_reassign: bool) -> Project:
    """Create (project None) or update a project and all its rows from a validated form."""
    creating = project is None
    project = project or Project()
    errors = _check(project, form)
    if errors:
        raise ProjectError(errors)

    project.name = form.name.data
    project.name_zh = form.name_zh.data
    project.status = form.status.data
    project.start_date = form.start_date.data
    project.end_date = form.end_date.data
    project.budget_amount = form.budget_amount.data
    project.budget_currency = form.budget_currency.data or None
    project.description = form.description.data
    if may_reassign and form.owner.data:
        project.owner_id = form.owner.data

    project.agreements = [row.agreement.record for row in form.agreement_links.filled()]
    _sync_partners(project, form.partners.filled())

    def apply_milestone(row, milestone):
        milestone.title = row.title.data
        milestone.due_on = row.due_on.data
        milestone.done_on = row.done_on.data

    sync_children(project.milestones, form.milestones.filled(), Milestone, apply_milestone)
    _sync_indicators(project, form.indicators.filled(), form.actuals.filled())

    project.refresh_derived()
    project.stamp(actor)
    if creating:
        db.session.add(project)
    db.session.flush()
    return project


def _sync_partners(project: Project, rows) -> None:
    # Matched on (partner, role), the pair the database keeps unique: a row removed and
    # added again updates nothing instead of inserting a duplicate before the delete.
    existing = {(link.partner_id, link.role): link for link in project.partners}
    keep = []
    for row in rows:
        key = (row.partner.data, row.role.data)
        link = existing.get(key) or ProjectPartner(partner_id=key[0], role=key[1])
        keep.append(link)
    project.partners[:] = keep


def _sync_indicators(project: Project, indicator_rows, actual_rows) -> None:
    # Indicators are matched on their kind and actuals on their period, the keys the
    # database keeps unique, for the same reason as partners.
    kinds = queries.indicator_kinds()
    existing = {indicator.kind_id: indicator for indicator in project.indicators}
    by_kind = defaultdict(list)
    for row in actual_rows:
        by_kind[row.kind_id.data].append(row)
    keep = []
    for row in indicator_rows:
        kind = kinds[row.kind_id.data]
        indicator = existing.get(kind.id) or Indicator(kind_id=kind.id)
        indicator.target = row.target.data
        indicator.currency = (row.currency.data or None) if kind.is_money else None
        periods = {actual.period.casefold(): actual for actual in indicator.actuals}
        actuals = []
        for actual_row in by_kind.get(kind.id, []):
            period = actual_row.period.data
            actual = periods.get(period.casefold()) or IndicatorActual()
            actual.period = period
            actual.period_end = actual_row.period_end.data
            actual.value = actual_row.value.data
            actuals.append(actual)
        indicator.actuals[:] = actuals
        keep.append(indicator)
    project.indicators[:] = keep
