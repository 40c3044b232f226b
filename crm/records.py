"""What every record kind shares: who made and changed it, its owner, archiving, and the
version number that stops a stale edit from overwriting a newer one."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from sqlalchemy import ForeignKey, Integer, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from crm.db import TimestampMixin, UTCDateTime, db, utcnow
from crm.listing import MAX_ID


class RecordError(Exception):
    """A save refused by an operation, with a message per field ("name" or a row path
    such as "parties-1-partner"); the form shows each at its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class RecordMixin(TimestampMixin):
    """created/updated by and at, owner, archive state and an optimistic-lock version."""

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version_id}

    @declared_attr
    def owner(cls):
        return relationship("User", foreign_keys=[cls.owner_id])

    @declared_attr
    def created_by(cls):
        return relationship("User", foreign_keys=[cls.created_by_id])

    @declared_attr
    def updated_by(cls):
        return relationship("User", foreign_keys=[cls.updated_by_id])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def stamp(self, actor) -> None:
        """Record who changed this record; on a new record, also who created and owns it."""
        actor_id = actor.id if actor is not None else None
        if self.id is None:
            self.created_by_id = actor_id
            if self.owner_id is None:
                self.owner_id = actor_id
        self.updated_by_id = actor_id

    def touch(self) -> None:
        """Count this record as changed although no column of its own changed (links
        moved underneath the ORM): a new version and "updated at". A flush otherwise
        leaves a record whose only change is who saved it as it was (no-op saves)."""
        self.updated_at = utcnow()
        self._touched = True

    def archive(self, actor) -> None:
        self.archived_at = utcnow()
        self.archived_by_id = actor.id if actor is not None else None
        self.updated_by_id = self.archived_by_id

    def restore(self, actor) -> None:
        self.archived_at = None
        self.archived_by_id = None
        self.updated_by_id = actor.id if actor is not None else None


def sync_children(collection: list, rows, make, apply) -> None:
    """Make `collection` match the submitted rows: update by id, add new, drop missing.

    `rows` are RowForms (blank ones already left out); `make()` builds a new child;
    `apply(row, child)` copies the row's values onto a child.
    """
    existing = {child.id: child for child in collection if child.id is not None}
    keep = []
    for row in rows:
        child = existing.get(row.row_id()) if row.row_id() is not None else None
        if child is None:
            child = make()
        apply(row, child)
        keep.append(child)
    collection[:] = keep


def sync_names(collection: list, rows, make) -> None:
    """Make a record's other names match the submitted rows (name and kind).

    Like sync_children, except that a row first takes the child already holding its very
    name, then the child of its id if no other row took it, else a new one. A record's
    names are unique, and a flush writes new and changed rows before it deletes dropped
    ones: a name dropped and typed again in a new row, two names swapped, or a list sent
    again without ids (the API) would otherwise collide with the old row.
    """
    rows = list(rows)
    by_name = {child.name: child for child in collection}
    by_id = {child.id: child for child in collection if child.id is not None}
    taken: dict[int, object] = {}  # row index -> child
    for index, row in enumerate(rows):
        child = by_name.get(row.name.data)
        if child is not None and all(child is not other for other in taken.values()):
            taken[index] = child
    keep = []
    for index, row in enumerate(rows):
        child = taken.get(index)
        if child is None:
            child = by_id.get(row.row_id())
            if child is None or any(child is other for other in [*taken.values(), *keep]):
                child = make()
        child.name, child.kind = row.name.data, row.kind.data
        keep.append(child)
    collection[:] = keep


def can_archive(user, record) -> bool:
    """Staff archive what they own; managers and admins archive anything."""
    return user.has_role("manager") or record.owner_id == user.id


def can_restore(user, record) -> bool:
    """Managers restore archived records, except one merged into another: its links are
    the survivor's now and its page leads there, so it would come back as an empty twin."""
    return user.has_role("manager") and getattr(record, "merged_into_id", None) is None


def load_or_404(model, record_id: int, *options):
    """The record with this id (loaded with these options), or a 404."""
    if not 0 < record_id <= MAX_ID:
        abort(404)
    record = db.session.scalar(select(model).where(model.id == record_id).options(*options))
    if record is None:
        abort(404)
    return record
