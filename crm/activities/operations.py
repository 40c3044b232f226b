"""Writes on activities and follow-ups. Nothing here commits."""

from __future__ import annotations

from datetime import date

from crm.activities.models import LINK_CLASSES, Activity, ActivityAttendee, FollowUp
from crm.auth.models import User
from crm.db import db
from crm.records import sync_children


def save_activity(activity: Activity | None, form, actor) -> Activity:
    """Create or update an activity, its attendees and its links, from an ActivityForm."""
    creating = activity is None
    activity = activity or Activity()
    activity.kind = form.kind.data
    activity.title = form.title.data
    activity.occurred_at = form.occurred_at()
    activity.timezone = form.timezone.data
    activity.location = form.location.data
    activity.summary = form.summary.data

    def apply_attendee(row, attendee):
        attendee.contact_id, attendee.role = row.contact.data, row.role.data

    seen = set()
    attendee_rows = []
    for row in form.attendees.filled():
        if row.contact.data not in seen:
            seen.add(row.contact.data)
            attendee_rows.append(row)
    sync_children(activity.attendees, attendee_rows, ActivityAttendee, apply_attendee)
    chosen = sorted(set(form.staff.data or []))
    activity.staff = [user for uid in chosen if (user := db.session.get(User, uid)) is not None]
    for kind, link_class in LINK_CLASSES.items():
        wanted = []
        for row in getattr(form, f"{kind}s").filled():
            if row.record.data not in wanted:
                wanted.append(row.record.data)
        set_links(activity, kind, link_class, wanted)
    activity.refresh_derived()
    activity.stamp(actor)
    if creating:
        db.session.add(activity)
    db.session.flush()
    return activity


def set_links(activity: Activity, kind: str, link_class, record_ids: list[int]) -> None:
    """Make the activity's links of one kind match `record_ids`, each carrying its time."""
    key = f"{kind}_id"
    links = activity.links(kind)
    by_id = {getattr(link, key): link for link in links}
    keep = []
    for rid in record_ids:
        link = by_id.get(rid) or link_class(**{key: rid})
        link.occurred_at = activity.occurred_at
        keep.append(link)
    links[:] = keep


def save_follow_up(follow_up: FollowUp | None, form, actor) -> FollowUp:
    creating = follow_up is None
    follow_up = follow_up or FollowUp()
    follow_up.title = form.title.data
    follow_up.due_on = form.due_on.data
    follow_up.assignee_id = form.assignee.data
    follow_up.notes = form.notes.data
    for kind in ("partner", "contact", "agreement", "project"):
        setattr(follow_up, f"{kind}_id", getattr(form, kind).data)
    follow_up.stamp(actor)
    if creating:
        db.session.add(follow_up)
    db.session.flush()
    return follow_up


def set_done(follow_up: FollowUp, done: bool, actor, today: date | None = None) -> None:
    follow_up.done_on = (today or date.today()) if done else None
    follow_up.stamp(actor)
