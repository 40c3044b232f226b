"""Writes on agreements. Nothing here commits: the view commits once per request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.agreements.models import Agreement, AgreementParty
from crm.db import db
from crm.records import RecordError, sync_children


class AgreementError(RecordError):
    """A save refused, with a message per field."""


def amended_chain(agreement_id: int, limit: int = 100) -> list[int]:
    """Ids along the "amends" links from `agreement_id` (itself first)."""
    chain, current = [], agreement_id
    while current is not None and len(chain) < limit and current not in chain:
        chain.append(current)
        current = db.session.scalar(select(Agreement.amends_id).where(Agreement.id == current))
    return chain


def check_amends(agreement: Agreement, amends_id: int | None) -> str | None:
    """Why `agreement` cannot amend `amends_id`, or None when it can."""
    if amends_id is None or agreement.id is None:
        return None
    if amends_id == agreement.id:
        return str(_l("An agreement cannot amend itself."))
    if agreement.id in amended_chain(amends_id):
        return str(_l("This would make a circle of amendments."))
    return None


def save_agreement(agreement: Agreement | None, form, actor, *, may_reassign: bool) -> Agreement:
    """Create (agreement None) or update an agreement and its parties from a validated form."""
    creating = agreement is None
    agreement = agreement or Agreement()
    errors: dict[str, str] = {}
    if problem := check_amends(agreement, form.amends.data):
        errors["amends"] = problem
    if errors:
        raise AgreementError(errors)

    agreement.title = form.title.data
    agreement.title_zh = form.title_zh.data
    agreement.type = form.type.data
    agreement.stage = form.stage.data
    agreement.signed_on = form.signed_on.data
    agreement.signed_at = form.signed_at.data
    agreement.effective_from = form.effective_from.data
    agreement.expires_on = form.expires_on.data
    agreement.auto_renew = bool(form.auto_renew.data)
    agreement.notice_days = form.notice_days.data
    agreement.value_amount = form.value_amount.data
    agreement.value_currency = form.value_currency.data or None
    agreement.summary = form.summary.data
    agreement.amends_id = form.amends.data
    agreement.amendment_kind = (form.amendment_kind.data or None) if form.amends.data else None
    if may_reassign and form.owner.data:
        agreement.owner_id = form.owner.data

    def apply_party(row, party):
        party.partner_id = row.partner.data
        party.role = row.role.data
        party.signatory_id = row.signatory.data
        party.signatory_title = row.signatory_title.data

    sync_children(agreement.parties, form.parties.filled(), AgreementParty, apply_party)
    agreement.refresh_derived()
    agreement.stamp(actor)
    if creating:
        db.session.add(agreement)
    db.session.flush()
    return agreement
