"""The duplicate index: each record's comparable names, its blocking keys, and the likely
pairs found, with the "not a duplicate" decisions people made.

Records are referred to by (kind, record_id) with kind "partner" or "contact", without a
foreign key: the index is derived data, rebuilt by `flask duplicates scan`, and must never
stand in the way of a write to the records themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import UTCDateTime, db, utcnow

KINDS = ("partner", "contact")


class DuplicateProfile(db.Model):
    """A record's names as compared (see crm.duplicates.names.Profile), when last checked."""

    __tablename__ = "duplicate_profile"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # False for archived (and merged) records: kept so they count as checked, never matched.
    live: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class DuplicateKey(db.Model):
    """One blocking key of a live record: only records sharing a key are compared."""

    __tablename__ = "duplicate_key"
    __table_args__ = (Index("ix_duplicate_key_record", "kind", "record_id"),)

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(210), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class DuplicatePair(db.Model):
    """Two records that look alike, how alike and why; or a pair dismissed by someone."""

    __tablename__ = "duplicate_pair"
    __table_args__ = (
        UniqueConstraint("kind", "low_id", "high_id"),
        Index("ix_duplicate_pair_high", "kind", "high_id"),
        # The page lists open pairs most similar first, with keyset paging.
        Index("ix_duplicate_pair_score_id", "score", "id", "dismissed_at"),
        Index("ix_duplicate_pair_kind_score", "kind", "score", "id", "dismissed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    low_id: Mapped[int] = mapped_column(Integer, nullable=False)
    high_id: Mapped[int] = mapped_column(Integer, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    dismissed_by = relationship("User")
