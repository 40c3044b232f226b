"""Contact (a person) and Position (a post at an organisation, from/to)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import db
from crm.partners.models import Partner
from crm.records import RecordMixin
from crm.text import search_blob
from crm.vocab import NAME_KINDS, check_in


class Contact(RecordMixin, db.Model):
    """A person: an official, a professor, a company director."""

    __tablename__ = "contact"
    __audit_type__ = "contact"
    __table_args__ = (
        Index("ix_contact_sort_name_id", "sort_name", "id", "archived_at"),
        Index("ix_contact_updated_at_id", "updated_at", "id", "archived_at"),
        Index("ix_contact_created_at_id", "created_at", "id", "archived_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    sort_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))

    positions: Mapped[list[Position]] = relationship(
        back_populates="contact",
        cascade="all, delete-orphan",
        order_by="(Position.end_date.is_not(None), Position.end_date.desc(), Position.id)",
    )
    other_names: Mapped[list[ContactName]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactName.id"
    )

    @property
    def display_name(self) -> str:
        return f"{self.name} · {self.name_zh}" if self.name_zh else self.name

    def current_positions(self, today: date | None = None) -> list[Position]:
        return [p for p in self.positions if p.is_current(today)]

    def past_positions(self, today: date | None = None) -> list[Position]:
        return [p for p in self.positions if not p.is_current(today)]

    def all_names(self) -> list[str]:
        names = [self.name, self.name_zh] + [n.name for n in self.other_names]
        return [n for n in names if n]

    def refresh_derived(self) -> None:
        self.sort_name = (self.name or "").strip().casefold()[:200]
        self.search_text = search_blob([*self.all_names(), self.email])


class ContactName(db.Model):
    """Another name of a contact: another spelling, a Chinese or former name."""

    __tablename__ = "contact_name"
    __audit_parent__ = ("contact", "other_names")
    __table_args__ = (
        CheckConstraint(check_in("kind", NAME_KINDS), name="kind_known"),
        UniqueConstraint("contact_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="alias")

    contact: Mapped[Contact] = relationship(back_populates="other_names")

    def audit_label(self) -> str:
        return f"{self.name} ({self.kind})"


class Position(db.Model):
    """A post a contact holds (or held) at an organisation; several may run at once."""

    __tablename__ = "position"
    __audit_parent__ = ("contact", "positions")
    __table_args__ = (
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True
    )
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    contact: Mapped[Contact] = relationship(back_populates="positions")
    partner = relationship("Partner")

    def audit_label(self) -> str:
        partner = self.partner or db.session.get(Partner, self.partner_id)
        dates = f"{self.start_date or ''}–{self.end_date or ''}"
        return f"{self.title} · {partner.name_en if partner else self.partner_id} ({dates})"

    def is_current(self, today: date | None = None) -> bool:
        today = today or date.today()
        return self.end_date is None or self.end_date >= today
