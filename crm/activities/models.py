"""Activity, its attendees and links to records; FollowUp, a task tied to a record.

Each link table carries a copy of the activity's time, indexed with the record's id, so
a record's timeline reads only the rows it shows, however many activities it has.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.contacts.models import Contact
from crm.db import UTCDateTime, db
from crm.db import db as _db
from crm.records import RecordMixin
from crm.text import search_blob
from crm.vocab import ACTIVITY_KINDS, ATTENDEE_ROLES, check_in


def _link_table(name: str, record: str) -> Table:
    return Table(
        name,
        db.metadata,
        Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{record}_id", ForeignKey(f"{record}.id"), primary_key=True),
        # A copy of activity.occurred_at: the timeline walks this index newest first.
        Column("occurred_at", UTCDateTime, nullable=False),
        Index(f"ix_{name}_timeline", f"{record}_id", "occurred_at", "activity_id"),
    )


activity_partner = _link_table("activity_partner", "partner")
# By time: the dashboard's "going cold" reads the partners heard from since a day, and
# the longest silent ones oldest first, from this index (crm/dashboard/figures/partners.py).
Index(
    "ix_activity_partner_occurred",
    activity_partner.c.occurred_at,
    activity_partner.c.partner_id,
    activity_partner.c.activity_id,
)
activity_contact = _link_table("activity_contact", "contact")
activity_agreement = _link_table("activity_agreement", "agreement")
activity_project = _link_table("activity_project", "project")

LINK_TABLES = {
    "partner": activity_partner,
    "contact": activity_contact,
    "agreement": activity_agreement,
    "project": activity_project,
}

activity_staff = Table(
    "activity_staff",
    db.metadata,
    Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id"), primary_key=True, index=True),
)


class Activity(RecordMixin, db.Model):
    """A meeting, call, email, visit, event (signing ceremony, delegation visit) or note."""

    __tablename__ = "activity"
    __audit_type__ = "activity"
    __table_args__ = (
        CheckConstraint(check_in("kind", ACTIVITY_KINDS), name="kind_known"),
        Index("ix_activity_occurred_at_id", "occurred_at", "id", "archived_at"),
        Index("ix_activity_owner_occurred", "owner_id", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="meeting")
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    location: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")

    attendees: Mapped[list[ActivityAttendee]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="ActivityAttendee.id"
    )
    staff = relationship("User", secondary=activity_staff, order_by="User.name")
    # Links are written through their own rows (they carry the activity's time); these
    # read-only views list the linked records.
    partner_links: Mapped[list[ActivityPartner]] = relationship(
        cascade="all, delete-orphan", back_populates="activity"
    )
    contact_links: Mapped[list[ActivityContact]] = relationship(
        cascade="all, delete-orphan", back_populates="activity"
    )
    agreement_links: Mapped[list[ActivityAgreement]] = relationship(
        cascade="all, delete-orphan", back_populates="activity"
    )
    project_links: Mapped[list[ActivityProject]] = relationship(
        cascade="all, delete-orphan", back_populates="activity"
    )
    partners = relationship(
        "Partner", secondary=activity_partner, order_by="Partner.sort_name", viewonly=True
    )
    contacts = relationship(
        "Contact", secondary=activity_contact, order_by="Contact.sort_name", viewonly=True
    )
    agreements = relationship(
        "Agreement", secondary=activity_agreement, order_by="Agreement.sort_title", viewonly=True
    )
    projects = relationship(
        "Project", secondary=activity_project, order_by="Project.sort_name", viewonly=True
    )

    def links(self, kind: str) -> list:
        return getattr(self, f"{kind}_links")

    @property
    def display_name(self) -> str:
        return self.title

    def refresh_derived(self) -> None:
        self.search_text = search_blob([self.title, self.location])


class _Link:
    """A link row between an activity and a record; labelled by the record's name."""

    record_kind: str
    # Its copy of the activity's time changes with the activity: not news of its own.
    __audit_ignore__ = frozenset({"occurred_at"})

    def audit_label(self) -> str:
        record = getattr(self, self.record_kind)
        if record is None:
            model = type(self).__mapper__.relationships[self.record_kind].mapper.class_
            record = _db.session.get(model, getattr(self, f"{self.record_kind}_id"))
        return getattr(record, "display_name", None) or getattr(record, "title", "")


class ActivityPartner(_Link, db.Model):
    __table__ = activity_partner
    __audit_parent__ = ("activity", "partners")
    record_kind = "partner"
    activity = relationship("Activity", back_populates="partner_links")
    partner = relationship("Partner")


class ActivityContact(_Link, db.Model):
    __table__ = activity_contact
    __audit_parent__ = ("activity", "contacts")
    record_kind = "contact"
    activity = relationship("Activity", back_populates="contact_links")
    contact = relationship("Contact")


class ActivityAgreement(_Link, db.Model):
    __table__ = activity_agreement
    __audit_parent__ = ("activity", "agreements")
    record_kind = "agreement"
    activity = relationship("Activity", back_populates="agreement_links")
    agreement = relationship("Agreement")


class ActivityProject(_Link, db.Model):
    __table__ = activity_project
    __audit_parent__ = ("activity", "projects")
    record_kind = "project"
    activity = relationship("Activity", back_populates="project_links")
    project = relationship("Project")


LINK_CLASSES = {
    "partner": ActivityPartner,
    "contact": ActivityContact,
    "agreement": ActivityAgreement,
    "project": ActivityProject,
}


class ActivityAttendee(db.Model):
    """A contact at an activity, and what they did there (presided, spoke, attended)."""

    __tablename__ = "activity_attendee"
    __audit_parent__ = ("activity", "attendees")
    __table_args__ = (CheckConstraint(check_in("role", ATTENDEE_ROLES), name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), nullable=False, index=True
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="attended")

    activity: Mapped[Activity] = relationship(back_populates="attendees")
    contact = relationship("Contact")

    def audit_label(self) -> str:
        contact = self.contact or db.session.get(Contact, self.contact_id)
        return f"{contact.name if contact else self.contact_id} ({self.role})"


class FollowUp(RecordMixin, db.Model):
    """A promise to follow up: due on a day, assigned to someone, tied to one record."""

    __tablename__ = "follow_up"
    __audit_type__ = "follow_up"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN partner_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN agreement_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN project_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN activity_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_record",
        ),
        Index("ix_follow_up_assignee_open", "assignee_id", "done_on", "due_on", "id"),
        Index("ix_follow_up_partner_due", "partner_id", "due_on", "id"),
        Index("ix_follow_up_contact_due", "contact_id", "due_on", "id"),
        Index("ix_follow_up_agreement_due", "agreement_id", "due_on", "id"),
        Index("ix_follow_up_project_due", "project_id", "due_on", "id"),
        Index("ix_follow_up_due_on", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), nullable=False)
    done_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"), index=True)

    assignee = relationship("User", foreign_keys=[assignee_id])
    partner = relationship("Partner")
    contact = relationship("Contact")
    agreement = relationship("Agreement")
    project = relationship("Project")
    activity = relationship("Activity")

    @property
    def display_name(self) -> str:
        return self.title

    def is_overdue(self, today: date | None = None) -> bool:
        return self.done_on is None and self.due_on < (today or date.today())

    def linked(self):
        """(kind, record) of the record this follow-up is about, or (None, None)."""
        for kind in ("partner", "contact", "agreement", "project", "activity"):
            record = getattr(self, kind)
            if record is not None:
                return kind, record
        return None, None
