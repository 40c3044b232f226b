"""Writes on partners. Nothing here commits: the view commits once per request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.db import db
from crm.partners.models import KeyFigure, Partner, PartnerName, Tag
from crm.records import RecordError, sync_children, sync_names


class PartnerError(RecordError):
    """A save refused, with a message per field."""


def ancestors_of(partner_id: int, limit: int = 100) -> list[int]:
    """Ids up the parent chain from `partner_id` (itself first)."""
    chain, current = [], partner_id
    while current is not None and len(chain) < limit and current not in chain:
        chain.append(current)
        current = db.session.scalar(select(Partner.parent_id).where(Partner.id == current))
    return chain


def check_parent(partner: Partner, parent_id: int | None) -> str | None:
    """Why `parent_id` cannot be the parent of `partner`, or None when it can."""
    if parent_id is None:
        return None
    if partner.id is not None and partner.id in ancestors_of(parent_id):
        return str(_l("This would make the organisation its own ancestor."))
    return None


def tags_named(names: list[str]) -> list[Tag]:
    """The Tag rows for `names`, creating the missing ones."""
    if not names:
        return []
    folded = {n.casefold(): n for n in names}
    # A tag typed in another case is the same tag ("AI", "ai"): found by lower() (which
    # SQLite applies to ASCII letters only), then compared casefolded.
    existing = db.session.scalars(
        select(Tag).where(func.lower(Tag.name).in_({n.lower() for n in names}))
    ).all()
    by_fold = {t.name.casefold(): t for t in existing}
    tags = []
    for fold, name in folded.items():
        tag = by_fold.get(fold)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def save_partner(partner: Partner | None, form, actor, *, may_reassign: bool) -> Partner:
    """Create (partner None) or update a partner from a validated PartnerForm."""
    creating = partner is None
    partner = partner or Partner()
    errors: dict[str, str] = {}
    if problem := check_parent(partner, form.parent.data):
        errors["parent"] = problem
    if form.is_own.data:
        other = db.session.scalar(
            select(Partner).where(Partner.is_own.is_(True), Partner.id != (partner.id or -1))
        )
        if other is not None:
            errors["is_own"] = str(
                _l("%(name)s is already marked as our organisation.", name=other.name_en)
            )
    seen = set()
    for entry in form.other_names.entries:
        row = entry.form
        if row.is_blank():
            continue
        folded = row.name.data.casefold()
        if folded in seen:
            errors[f"other_names-{entry.index}-name"] = str(
                _l("The same other name is listed twice.")
            )
        seen.add(folded)
    if errors:
        raise PartnerError(errors)

    partner.name_en = form.name_en.data
    partner.name_zh = form.name_zh.data
    partner.kind = form.kind.data
    partner.status = form.status.data
    partner.country = form.country.data or ""
    partner.city = form.city.data
    partner.website = form.website.data
    partner.description = form.description.data
    partner.parent_id = form.parent.data
    partner.is_own = True if form.is_own.data else None
    if may_reassign and form.owner.data:
        partner.owner_id = form.owner.data
    partner.tags = tags_named(form.tag_names())

    def apply_figure(row, child):
        child.label, child.value = row.label.data, row.value.data
        child.unit, child.year = row.unit.data, row.year.data

    sync_names(partner.other_names, form.other_names.filled(), PartnerName)
    sync_children(partner.figures, form.figures.filled(), KeyFigure, apply_figure)
    partner.refresh_derived()
    partner.stamp(actor)
    if creating:
        db.session.add(partner)
    db.session.flush()
    return partner
