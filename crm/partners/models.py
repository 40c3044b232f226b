"""Partner (an organisation), its other names, sector tags and key figures."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import db
from crm.records import RecordMixin
from crm.text import search_blob
from crm.vocab import NAME_KINDS, PARTNER_KINDS, PARTNER_STATUSES, check_in

partner_tag = Table(
    "partner_tag",
    db.metadata,
    Column("partner_id", ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    """A sector tag (advanced manufacturing, biomedicine, education ...)."""

    def audit_label(self) -> str:
        return self.name

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)


class Partner(RecordMixin, db.Model):
    """An organisation: government body, company, university, education group ..."""

    __tablename__ = "partner"
    __audit_type__ = "partner"
    __table_args__ = (
        CheckConstraint(check_in("kind", PARTNER_KINDS), name="kind_known"),
        CheckConstraint(check_in("status", PARTNER_STATUSES), name="status_known"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        # At most one partner is "us": TRUE once, NULL for everyone else (NULLs never clash).
        UniqueConstraint("is_own"),
        CheckConstraint("is_own IS NULL OR is_own", name="own_true_or_null"),
        # Each list index ends with archived_at, so counting and paging the live records
        # reads the index alone.
        Index("ix_partner_sort_name_id", "sort_name", "id", "archived_at"),
        Index("ix_partner_updated_at_id", "updated_at", "id", "archived_at"),
        Index("ix_partner_created_at_id", "created_at", "id", "archived_at"),
        Index("ix_partner_country_sort", "country", "sort_name", "id", "archived_at"),
        Index("ix_partner_kind_sort", "kind", "sort_name", "id", "archived_at"),
        Index("ix_partner_status_sort", "status", "sort_name", "id", "archived_at"),
        # The dashboard's partner figures (crm/dashboard/figures/partners.py) read these alone:
        # by relationship and kind, new in a period, whatever the owner / kind / country
        # filters; and by country.
        Index(
            "ix_partner_figures",
            "status",
            "kind",
            "country",
            "archived_at",
            "owner_id",
            "created_at",
        ),
        Index("ix_partner_countries", "country", "kind", "archived_at", "status", "owner_id"),
        # A partner's children in name order (detail page, the list's parent filter).
        # Partial: most partners have no parent, and with the NULLs in the index the
        # planner's statistics (ANALYZE) made a parent look like it had thousands of
        # children, so it walked the name index instead.
        Index(
            "ix_partner_parent_sort",
            "parent_id",
            "sort_name",
            "id",
            "archived_at",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name_en: Mapped[str] = mapped_column(String(300), nullable=False)
    name_zh: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="prospect")
    # ISO 3166 alpha-2; "" when unknown, so it can lead an index-backed sort.
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="")
    city: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    # NULL for everyone but the accelerator itself (a unique index allows one TRUE).
    is_own: Mapped[bool | None] = mapped_column(Boolean)
    # Derived from the names on every write: what sorting and quick filters use.
    sort_name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))

    parent: Mapped[Partner | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Partner]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="Partner.sort_name"
    )
    other_names: Mapped[list[PartnerName]] = relationship(
        back_populates="partner", cascade="all, delete-orphan", order_by="PartnerName.id"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=partner_tag, order_by=Tag.name)
    figures: Mapped[list[KeyFigure]] = relationship(
        back_populates="partner",
        cascade="all, delete-orphan",
        order_by="(KeyFigure.year.desc(), KeyFigure.id)",
    )

    @property
    def display_name(self) -> str:
        return f"{self.name_en} · {self.name_zh}" if self.name_zh else self.name_en

    def all_names(self) -> list[str]:
        names = [self.name_en, self.name_zh]
        names += [n.name for n in self.other_names]
        return [n for n in names if n]

    def refresh_derived(self) -> None:
        """Recompute the sort key and the quick-filter text from every name."""
        self.sort_name = (self.name_en or "").strip().casefold()[:300]
        self.search_text = search_blob(self.all_names())


class PartnerName(db.Model):
    """Another name of a partner: abbreviation, translation, alias or former name."""

    __tablename__ = "partner_name"
    __audit_parent__ = ("partner", "other_names")
    __table_args__ = (
        CheckConstraint(check_in("kind", NAME_KINDS), name="kind_known"),
        UniqueConstraint("partner_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="alias")

    partner: Mapped[Partner] = relationship(back_populates="other_names")

    def audit_label(self) -> str:
        return f"{self.name} ({self.kind})"


class KeyFigure(db.Model):
    """A figure about a partner: population 140,000; output 42.8 billion yuan in 2019."""

    __tablename__ = "key_figure"
    __audit_parent__ = ("partner", "figures")

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True
    )
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(24, 4), nullable=False)
    unit: Mapped[str | None] = mapped_column(String(50))
    year: Mapped[int | None] = mapped_column(Integer)

    partner: Mapped[Partner] = relationship(back_populates="figures")

    def audit_label(self) -> str:
        value = format(self.value.normalize(), "f") if self.value is not None else ""
        return " ".join(
            str(x) for x in (self.label, value, self.unit or "", self.year or "")
        ).strip()
