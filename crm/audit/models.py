"""AuditEntry: one row per record per change, written in the changing transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import UTCDateTime, db, utcnow


class AuditEntry(db.Model):
    """Who did what to which record, with each changed field's old and new value.

    `changes` maps a field to [old, new]; a link collection (parties, positions, tags ...)
    maps to {"added": [...], "removed": [...], "changed": [...]}. Entries are never updated
    or deleted: the session refuses it (see crm.audit.trail).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_record", "record_type", "record_id", "id"),
        Index("ix_audit_entry_at_id", "at", "id"),
        Index("ix_audit_entry_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    record_type: Mapped[str] = mapped_column(String(30), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    user = relationship("User")
