"""Project, its partners, milestones and outcome indicators (targets against actuals)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    exists,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import db
from crm.partners.models import Partner
from crm.records import RecordMixin
from crm.text import search_blob
from crm.vocab import PROJECT_ROLES, PROJECT_STATUSES, check_in, label

project_agreement = Table(
    "project_agreement",
    db.metadata,
    Column("project_id", ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "agreement_id",
        ForeignKey("agreement.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Project(RecordMixin, db.Model):
    """An innovation centre, a talent programme, a technology-transfer effort ..."""

    __tablename__ = "project"
    __audit_type__ = "project"
    __table_args__ = (
        CheckConstraint(check_in("status", PROJECT_STATUSES), name="status_known"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_in_order",
        ),
        CheckConstraint("budget_amount IS NULL OR budget_amount >= 0", name="budget_not_negative"),
        Index("ix_project_sort_name_id", "sort_name", "id", "archived_at"),
        Index("ix_project_start_sort_id", "start_sort", "id", "archived_at"),
        Index("ix_project_start_date", "start_date"),
        Index("ix_project_end_date", "end_date"),
        Index("ix_project_updated_at_id", "updated_at", "id", "archived_at"),
        Index("ix_project_status_start", "status", "start_sort", "id", "archived_at"),
        # The dashboard's project figures read this alone (crm/dashboard/figures/projects.py).
        Index("ix_project_figures", "status", "archived_at", "start_date", "end_date", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="planned")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    budget_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    budget_currency: Mapped[str | None] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    sort_name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    start_sort: Mapped[date] = mapped_column(Date, nullable=False, default=date.max)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")

    agreements = relationship(
        "Agreement",
        secondary=project_agreement,
        back_populates="projects",
        order_by="Agreement.signed_on",
    )
    partners: Mapped[list[ProjectPartner]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectPartner.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        order_by="(Milestone.due_on, Milestone.id)",
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Indicator.id"
    )

    @property
    def display_name(self) -> str:
        return f"{self.name} · {self.name_zh}" if self.name_zh else self.name

    def refresh_derived(self) -> None:
        self.sort_name = (self.name or "").strip().casefold()[:300]
        self.start_sort = self.start_date or date.max
        self.search_text = search_blob([self.name, self.name_zh])


class ProjectPartner(db.Model):
    """A partner's part in a project: lead, host, funder or participant."""

    __tablename__ = "project_partner"
    __audit_parent__ = ("project", "partners")
    __table_args__ = (
        CheckConstraint(check_in("role", PROJECT_ROLES), name="role_known"),
        UniqueConstraint("project_id", "partner_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="participant")

    project: Mapped[Project] = relationship(back_populates="partners")
    partner = relationship("Partner")

    def audit_label(self) -> str:
        partner = self.partner or db.session.get(Partner, self.partner_id)
        return (
            f"{partner.name_en if partner else self.partner_id} — {label(PROJECT_ROLES, self.role)}"
        )


class Milestone(db.Model):
    __tablename__ = "milestone"
    __audit_parent__ = ("project", "milestones")

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    done_on: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship(back_populates="milestones")

    def is_overdue(self, today: date | None = None) -> bool:
        return (
            self.done_on is None
            and self.due_on is not None
            and self.due_on < (today or date.today())
        )

    def audit_label(self) -> str:
        return f"{self.title} ({self.due_on or '—'})"


class IndicatorKind(db.Model):
    """A kind of outcome: talents attracted, jobs created ... Admins add more."""

    __tablename__ = "indicator_kind"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String(100))
    is_money: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    unit: Mapped[str | None] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def label(self, locale: str = "en") -> str:
        return self.name_zh if locale.startswith("zh") and self.name_zh else self.name_en


STANDARD_INDICATORS = [
    ("talents", "Talents attracted", "引进人才", False, "people"),
    ("enterprises_introduced", "Enterprises introduced", "引进企业", False, "enterprises"),
    ("enterprises_incubated", "Enterprises incubated", "孵化企业", False, "enterprises"),
    ("investment", "Investment attracted", "吸引投资", True, None),
    ("jobs", "Jobs created", "创造就业", False, "jobs"),
    ("ip_filed", "IP filed", "知识产权申请", False, "filings"),
]


class Indicator(db.Model):
    """One outcome a project aims at: a target, and actuals reported per period."""

    __tablename__ = "indicator"
    __audit_parent__ = ("project", "indicators")
    __table_args__ = (
        UniqueConstraint("project_id", "kind_id"),
        CheckConstraint("target IS NULL OR target >= 0", name="target_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind_id: Mapped[int] = mapped_column(ForeignKey("indicator_kind.id"), nullable=False)
    target: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))

    project: Mapped[Project] = relationship(back_populates="indicators")
    kind: Mapped[IndicatorKind] = relationship()
    actuals: Mapped[list[IndicatorActual]] = relationship(
        back_populates="indicator",
        cascade="all, delete-orphan",
        order_by="(IndicatorActual.period_end, IndicatorActual.id)",
    )

    @property
    def actual_total(self) -> Decimal:
        return sum((a.value for a in self.actuals), Decimal(0))

    @property
    def progress(self) -> float | None:
        if not self.target:
            return None
        return float(self.actual_total / self.target)

    def audit_label(self) -> str:
        kind = self.kind or db.session.get(IndicatorKind, self.kind_id)
        target = format(self.target.normalize(), "f") if self.target is not None else "—"
        return f"{kind.name_en if kind else self.kind_id}: {target} {self.currency or ''}".strip()


class IndicatorActual(db.Model):
    """What an indicator achieved in one period (a year, a quarter)."""

    __tablename__ = "indicator_actual"
    __audit_parent__ = ("indicator", "actuals")
    __table_args__ = (
        UniqueConstraint("indicator_id", "period"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        # The dashboard's indicator figures read the actuals from this index alone.
        Index("ix_indicator_actual_figures", "indicator_id", "period_end", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("indicator.id", ondelete="CASCADE"), nullable=False
    )
    period: Mapped[str] = mapped_column(String(20), nullable=False)  # "2021", "2021-Q3"
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)

    indicator: Mapped[Indicator] = relationship(back_populates="actuals")

    def audit_label(self) -> str:
        value = format(self.value.normalize(), "f") if self.value is not None else "—"
        return f"{self.period}: {value}"


def with_partner(conditions):
    """EXISTS a partner taking part in the project that meets `conditions`."""

    return exists().where(
        ProjectPartner.project_id == Project.id,
        Partner.id == ProjectPartner.partner_id,
        *conditions,
    )
