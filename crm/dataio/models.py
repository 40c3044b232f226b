"""An import of a spreadsheet: the job, each of its rows, and each record it touched.

The job's row in `data_import` is where its progress lives (which step, how many rows
done, where the next chunk starts in the stored rows file), so any worker can run the next
chunk. `data_import_row` holds one line per data row of the file: what the check found
(errors, likely matches) and what the run did with it (created, updated, skipped, failed,
and why). `data_import_change` holds one line per record the run created or updated, with
the values it replaced and the version it left, which is what undo needs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.db import TimestampMixin, UTCDateTime, db
from crm.partners.models import Partner, PartnerName
from crm.projects.models import Project
from crm.vocab import check_in

IMPORT_KINDS = ("partner", "contact", "agreement", "project")
STATUSES = (
    "mapping",
    "checking",
    "checked",
    "running",
    "done",
    "undoing",
    "undone",
    "discarded",
)
CHECKS = ("new", "match", "several", "error")
OUTCOMES = ("created", "updated", "skipped", "failed")


class DataImport(TimestampMixin, db.Model):
    """One uploaded file on its way in: upload, mapping, check, run, report, undo."""

    __tablename__ = "data_import"
    __table_args__ = (
        CheckConstraint(check_in("kind", IMPORT_KINDS), name="kind_known"),
        CheckConstraint(check_in("status", STATUSES), name="status_known"),
        Index("ix_data_import_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="mapping")
    # The name the user's file had (shown only); the stored files have generated names.
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    stored_name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    file_format: Mapped[str] = mapped_column(String(10), nullable=False)
    encoding: Mapped[str | None] = mapped_column(String(20))
    delimiter: Mapped[str | None] = mapped_column(String(5))
    headers: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mapping: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    choices: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Progress of the step under way: rows done, and where the next one starts in the
    # stored rows file (a byte offset).
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    offset: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user = relationship("User", foreign_keys=[user_id])
    undone_by = relationship("User", foreign_keys=[undone_by_id])

    @property
    def rows_file(self) -> str:
        return f"{self.stored_name}.rows.jsonl"

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created_count,
            "updated": self.updated_count,
            "skipped": self.skipped_count,
            "failed": self.failed_count,
        }


class DataImportRow(db.Model):
    """A data row of an import's file: what the check found and what the run did."""

    __tablename__ = "data_import_row"
    __table_args__ = (
        UniqueConstraint("import_id", "row_number"),
        CheckConstraint(check_in("check_result", CHECKS), name="check_known"),
        CheckConstraint(
            "outcome IS NULL OR " + check_in("outcome", OUTCOMES), name="outcome_known"
        ),
        Index("ix_data_import_row_check", "import_id", "check_result", "row_number"),
        Index("ix_data_import_row_outcome", "import_id", "outcome", "row_number"),
        Index("ix_data_import_row_key", "import_id", "match_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("data_import.id", ondelete="CASCADE"), nullable=False
    )
    # The line of the spreadsheet (the header is line 1; blank lines count too).
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    check_result: Mapped[str] = mapped_column(String(10), nullable=False)
    errors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    matches: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # The row's main name folded: finds earlier rows of the same file naming the same record.
    match_key: Mapped[str | None] = mapped_column(String(300))
    same_as_row: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(String(10))
    message: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[int | None] = mapped_column(Integer)


class DataImportChange(db.Model):
    """A record an import created or updated: what undo archives or puts back."""

    __tablename__ = "data_import_change"
    __table_args__ = (
        Index("ix_data_import_change_import", "import_id", "id"),
        Index("ix_data_import_change_record", "record_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("data_import.id", ondelete="CASCADE"), nullable=False
    )
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    record_type: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(10), nullable=False)  # created / updated
    # Fields the import changed, with their values before it; link rows it added.
    before: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


# Lookups by name when matching rows to records: the English names are found through
# their existing sort-key indexes, these serve the Chinese and other names.
Index("ix_partner_name_zh", Partner.__table__.c.name_zh)
Index("ix_partner_name_name", PartnerName.__table__.c.name)
Index("ix_contact_name_zh", Contact.__table__.c.name_zh)
Index("ix_agreement_title_zh", Agreement.__table__.c.title_zh)
Index("ix_project_name_zh", Project.__table__.c.name_zh)
