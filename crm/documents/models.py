"""Document (what a user attaches to a record) and DocumentVersion (one uploaded file).

A document belongs to exactly one partner, contact, agreement or project, by a plain
foreign key each (the database checks that exactly one is set), so work that moves links
from one record to another by foreign key moves documents too. A new upload of the same
document adds a version: the old files are kept and stay downloadable.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
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

from crm.db import UTCDateTime, db, utcnow
from crm.records import RecordMixin
from crm.vocab import check_in

DOCUMENT_KINDS = {
    "signed": _l("Signed agreement"),
    "scan": _l("Scan"),
    "annex": _l("Annex"),
    "minutes": _l("Minutes"),
    "other": _l("Other"),
}

# The kinds of record a document can belong to, each with its own foreign key column.
OWNER_KINDS = ("partner", "contact", "agreement", "project")

_ONE_OWNER = " + ".join(f"(CASE WHEN {k}_id IS NULL THEN 0 ELSE 1 END)" for k in OWNER_KINDS)


class Document(RecordMixin, db.Model):
    """A file attached to a record, with a title, a kind and its versions."""

    __tablename__ = "document"
    __audit_type__ = "document"
    # Follows from the versions, which the trail lists themselves.
    __audit_ignore__ = frozenset({"current_number"})
    __table_args__ = (
        CheckConstraint(check_in("kind", DOCUMENT_KINDS), name="kind_known"),
        CheckConstraint(f"{_ONE_OWNER} = 1", name="one_owner"),
        CheckConstraint("current_number > 0", name="current_number_positive"),
        # A record's documents, newest first, read from the index alone.
        Index("ix_document_partner_id_id", "partner_id", "id"),
        Index("ix_document_contact_id_id", "contact_id", "id"),
        Index("ix_document_agreement_id_id", "agreement_id", "id"),
        Index("ix_document_project_id_id", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="other")
    description: Mapped[str | None] = mapped_column(Text)
    # The number of the newest version; versions are numbered 1, 2, 3 ... per document.
    current_number: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    partner = relationship("Partner", foreign_keys=[partner_id])
    contact = relationship("Contact", foreign_keys=[contact_id])
    agreement = relationship("Agreement", foreign_keys=[agreement_id])
    project = relationship("Project", foreign_keys=[project_id])
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document",
        order_by="DocumentVersion.number.desc()",
        lazy="raise_on_sql",
    )
    current: Mapped[DocumentVersion | None] = relationship(
        primaryjoin="and_(Document.id == foreign(DocumentVersion.document_id), "
        "Document.current_number == foreign(DocumentVersion.number))",
        viewonly=True,
        uselist=False,
        lazy="raise_on_sql",
    )

    @property
    def display_name(self) -> str:
        return self.title

    @property
    def owner_kind(self) -> str:
        for kind in OWNER_KINDS:
            if getattr(self, f"{kind}_id") is not None:
                return kind
        raise ValueError("document without a record")

    @property
    def owner_record_id(self) -> int:
        return getattr(self, f"{self.owner_kind}_id")

    @property
    def record(self):
        """The partner, contact, agreement or project this document belongs to."""
        return getattr(self, self.owner_kind)

    def attach_to(self, kind: str, record) -> None:
        if kind not in OWNER_KINDS:
            raise ValueError(kind)
        setattr(self, kind, record)

    def archived_with_record(self) -> bool:
        """Archived because its record is: restoring the record brings it back."""
        return self.archived_at is None and self.record.archived_at is not None

    def effectively_archived(self) -> bool:
        return self.archived_at is not None or self.record.archived_at is not None


class DocumentVersion(db.Model):
    """One uploaded file: stored under a generated name, with its original name as data."""

    __tablename__ = "document_version"
    __audit_parent__ = ("document", "versions")
    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        UniqueConstraint("stored_name"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    # Generated (random) path under the documents folder; never derived from user input.
    stored_name: Mapped[str] = mapped_column(String(64), nullable=False)
    # What the uploader called it, cleaned to a bare file name: shown and offered on download.
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_type: Mapped[str] = mapped_column(String(10), nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    document: Mapped[Document] = relationship(back_populates="versions")
    uploaded_by = relationship("User", foreign_keys=[uploaded_by_id])

    def audit_label(self) -> str:
        return f"v{self.number}: {self.original_name} (SHA-256 {self.sha256[:12]}…)"
