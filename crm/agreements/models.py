"""Agreement and AgreementParty (an organisation in a role, with its signatory)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    exists,
    false,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from crm.records import RecordMixin
from crm.text import search_blob
from crm.vocab import (
    AGREEMENT_STAGES,
    AGREEMENT_TYPES,
    AMENDMENT_KINDS,
    PARTY_ROLES,
    check_in,
    label,
)


class Agreement(RecordMixin, db.Model):
    """A cooperation agreement, MoU, contract ... between two or more organisations."""

    __tablename__ = "agreement"
    __audit_type__ = "agreement"
    __table_args__ = (
        CheckConstraint(check_in("type", AGREEMENT_TYPES), name="type_known"),
        CheckConstraint(check_in("stage", AGREEMENT_STAGES), name="stage_known"),
        CheckConstraint(
            "amendment_kind IS NULL OR " + check_in("amendment_kind", AMENDMENT_KINDS),
            name="amendment_kind_known",
        ),
        CheckConstraint(
            "expires_on IS NULL OR effective_from IS NULL OR expires_on >= effective_from",
            name="dates_in_order",
        ),
        CheckConstraint("value_amount IS NULL OR value_amount >= 0", name="value_not_negative"),
        CheckConstraint("notice_days IS NULL OR notice_days >= 0", name="notice_not_negative"),
        CheckConstraint("amends_id IS NULL OR amends_id <> id", name="not_own_amendment"),
        Index("ix_agreement_sort_title_id", "sort_title", "id", "archived_at"),
        Index("ix_agreement_signed_sort_id", "signed_sort", "id", "archived_at"),
        Index("ix_agreement_expires_sort_id", "expires_sort", "id", "archived_at"),
        Index("ix_agreement_updated_at_id", "updated_at", "id", "archived_at"),
        Index("ix_agreement_stage_signed", "stage", "signed_sort", "id", "archived_at"),
        Index("ix_agreement_type_signed", "type", "signed_sort", "id", "archived_at"),
        # An agreement's amendments in signing order (detail page). Partial for the same
        # reason as ix_partner_parent_sort: most agreements amend nothing.
        Index(
            "ix_agreement_amends_signed",
            "amends_id",
            "signed_sort",
            "id",
            "archived_at",
            sqlite_where=text("amends_id IS NOT NULL"),
            postgresql_where=text("amends_id IS NOT NULL"),
        ),
        # The dashboard's figures read these alone (crm/dashboard/figures/): what was
        # signed in a period (per quarter, type and currency), and the signed agreements
        # by expiry, with what rolling a term and a notice period need.
        Index(
            "ix_agreement_signed_figures",
            "signed_on",
            "archived_at",
            "owner_id",
            "type",
            "value_currency",
            "value_amount",
        ),
        Index("ix_agreement_expires_on", "expires_on"),
        Index(
            "ix_agreement_stage_expiry",
            "stage",
            "auto_renew",
            "expires_on",
            "effective_from",
            "notice_days",
            "archived_at",
            "owner_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    title_zh: Mapped[str | None] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(20), nullable=False, default="cooperation")
    stage: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_at: Mapped[str | None] = mapped_column(String(300))
    effective_from: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    auto_renew: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    notice_days: Mapped[int | None] = mapped_column(Integer)
    value_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    value_currency: Mapped[str | None] = mapped_column(String(3))
    summary: Mapped[str | None] = mapped_column(Text)
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))
    amendment_kind: Mapped[str | None] = mapped_column(String(20))
    sort_title: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # Non-null copies of the dates for index-backed sorting (missing dates sort last).
    signed_sort: Mapped[date] = mapped_column(Date, nullable=False, default=date.max)
    expires_sort: Mapped[date] = mapped_column(Date, nullable=False, default=date.max)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")

    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="AgreementParty.id"
    )
    amends: Mapped[Agreement | None] = relationship(
        remote_side=[id], foreign_keys=[amends_id], back_populates="amendments"
    )
    amendments: Mapped[list[Agreement]] = relationship(
        foreign_keys=[amends_id], back_populates="amends", order_by="Agreement.signed_on"
    )
    projects = relationship(
        "Project", secondary="project_agreement", back_populates="agreements", viewonly=True
    )

    @property
    def display_name(self) -> str:
        """What pickers and links show: the title, with the Chinese title when there is one."""
        return f"{self.title} · {self.title_zh}" if self.title_zh else self.title

    def state(self, today: date | None = None) -> str:
        """draft, negotiation, terminated; once signed: pending, in_force or expired."""
        if self.stage != "signed":
            return self.stage
        today = today or date.today()
        if self.effective_from and today < self.effective_from:
            return "pending"
        if self.expires_on and today > self.expires_on and not self.auto_renew:
            return "expired"
        return "in_force"

    def current_term_end(self, today: date | None = None) -> date | None:
        """The expiry in force today: an auto-renewing agreement rolls its term forward."""
        if not self.expires_on:
            return None
        end = self.expires_on
        if self.auto_renew and self.effective_from:
            today = today or date.today()
            term = self.expires_on - self.effective_from + timedelta(days=1)
            while end < today and term.days > 0:
                end = end + term
        return end

    def notice_deadline(self, today: date | None = None) -> date | None:
        """Last day to give notice before the current term ends."""
        end = self.current_term_end(today)
        if end is None or self.notice_days is None:
            return None
        return end - timedelta(days=self.notice_days)

    def refresh_derived(self) -> None:
        self.sort_title = (self.title or "").strip().casefold()[:500]
        self.signed_sort = self.signed_on or date.max
        self.expires_sort = self.expires_on or date.max
        self.search_text = search_blob([self.title, self.title_zh])


def state_clause(state: str, today: date):
    """SQL condition for agreements in `state` on `today` (mirrors Agreement.state)."""
    a = Agreement
    if state in ("draft", "negotiation", "terminated"):
        return a.stage == state
    signed = a.stage == "signed"
    if state == "pending":
        return and_(signed, a.effective_from > today)
    expired = and_(a.expires_on < today, a.auto_renew == false())
    if state == "expired":
        return and_(signed, or_(a.effective_from.is_(None), a.effective_from <= today), expired)
    if state == "in_force":
        return and_(
            signed,
            or_(a.effective_from.is_(None), a.effective_from <= today),
            or_(a.expires_on.is_(None), a.expires_on >= today, a.auto_renew.is_(True)),
        )
    raise ValueError(state)


class AgreementParty(db.Model):
    """An organisation's place in an agreement: its role and who signed for it."""

    __tablename__ = "agreement_party"
    __audit_parent__ = ("agreement", "parties")
    __table_args__ = (
        CheckConstraint(check_in("role", PARTY_ROLES), name="role_known"),
        # Both ways round, so "agreements with a party of this kind / country" is read
        # from the index alone, from the agreements' side or from the partners'.
        Index("ix_agreement_party_agreement_partner", "agreement_id", "partner_id"),
        Index("ix_agreement_party_partner_agreement", "partner_id", "agreement_id"),
        # What a contact signed (contact page). Partial: most parties name no signatory,
        # and with the NULLs in the index ANALYZE made the planner walk every agreement.
        Index(
            "ix_agreement_party_signatory",
            "signatory_id",
            "agreement_id",
            sqlite_where=text("signatory_id IS NOT NULL"),
            postgresql_where=text("signatory_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), nullable=False
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="party")
    signatory_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    signatory_title: Mapped[str | None] = mapped_column(String(300))

    agreement: Mapped[Agreement] = relationship(back_populates="parties")
    partner = relationship("Partner")
    signatory = relationship("Contact")

    def audit_label(self) -> str:
        partner = self.partner or db.session.get(Partner, self.partner_id)
        text = (
            f"{partner.name_en if partner else self.partner_id} — {label(PARTY_ROLES, self.role)}"
        )
        if self.signatory_id:
            signatory = self.signatory or db.session.get(Contact, self.signatory_id)
            text += f" ({signatory.name if signatory else self.signatory_id})"
        return text


def with_party(conditions):
    """EXISTS a party to the agreement whose partner meets `conditions`."""

    return exists().where(
        AgreementParty.agreement_id == Agreement.id,
        Partner.id == AgreementParty.partner_id,
        *conditions,
    )
