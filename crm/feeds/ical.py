"""Building the iCalendar document of a feed.

Dates (deadlines, expiries, milestones, follow-ups) are all-day events. Activities are
timed events in their own time zone (with its VTIMEZONE), an hour long since the CRM
records when they start, not how long they last; one logged at midnight local time,
which is how the form stores a day without a time, is an all-day event. Every event's
UID is made of the record and what it marks, so an edit moves the event in the
subscriber's calendar instead of adding another.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event

from crm.auth.models import User
from crm.feeds.queries import FeedData
from crm.vocab import ACTIVITY_KINDS, label

ONE_DAY = timedelta(days=1)
ACTIVITY_LENGTH = timedelta(hours=1)


def _event(uid: str, summary: str, stamp: datetime, url: str, sequence: int | None = None):
    event = Event()
    event.add("uid", uid)
    event.add("summary", summary)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("url", url)
    if sequence is not None:
        event.add("sequence", sequence)
    return event


def _all_day(event: Event, day: date) -> Event:
    event.add("dtstart", day)
    event.add("dtend", day + ONE_DAY)
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    return event


def build_calendar(user: User, data: FeedData, domain: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Partnership CRM//Calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("CRM · %(name)s", name=user.name))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", timedelta(hours=1))
    today = date.today()

    def link(endpoint, **values):
        return url_for(endpoint, _external=True, **values)

    for agreement in data.agreements:
        url = link("agreements.detail", agreement_id=agreement.id)
        end = agreement.current_term_end(today)
        notice = agreement.notice_deadline(today)
        if end is not None:
            what = (
                _("Agreement renews: %(title)s", title=agreement.display_name)
                if agreement.auto_renew
                else _("Agreement expires: %(title)s", title=agreement.display_name)
            )
            event = _event(
                f"agreement-{agreement.id}-end@{domain}",
                what,
                agreement.updated_at,
                url,
                agreement.version_id,
            )
            cal.add_component(_all_day(event, end))
        if notice is not None:
            event = _event(
                f"agreement-{agreement.id}-notice@{domain}",
                _("Notice deadline: %(title)s", title=agreement.display_name),
                agreement.updated_at,
                url,
                agreement.version_id,
            )
            event.add(
                "description",
                _(
                    "Last day to give notice before the term ends on %(end)s.",
                    end=end.isoformat() if end else "",
                ),
            )
            cal.add_component(_all_day(event, notice))

    for milestone in data.milestones:
        project = milestone.project
        summary = _(
            "Milestone: %(title)s (%(project)s)", title=milestone.title, project=project.name
        )
        if milestone.done_on is not None:
            summary = "✓ " + summary
        event = _event(
            f"milestone-{milestone.id}@{domain}",
            summary,
            project.updated_at,
            link("projects.detail", project_id=project.id),
            project.version_id,
        )
        cal.add_component(_all_day(event, milestone.due_on))

    for follow_up in data.follow_ups:
        kind, record = follow_up.linked()
        event = _event(
            f"follow-up-{follow_up.id}@{domain}",
            _("Follow-up: %(title)s", title=follow_up.title),
            follow_up.updated_at,
            link("activities.edit_follow_up", follow_up_id=follow_up.id),
            follow_up.version_id,
        )
        lines = [getattr(record, "display_name", "")] if record is not None else []
        if follow_up.notes:
            lines.append(follow_up.notes)
        if lines:
            event.add("description", "\n\n".join(lines))
        cal.add_component(_all_day(event, follow_up.due_on))

    for activity in data.activities:
        event = _event(
            f"activity-{activity.id}@{domain}",
            f"{label(ACTIVITY_KINDS, activity.kind)}: {activity.title}",
            activity.updated_at,
            link("activities.detail", activity_id=activity.id),
            activity.version_id,
        )
        local = activity.occurred_at.astimezone(ZoneInfo(activity.timezone))
        if local.time() == time(0, 0):
            _all_day(event, local.date())
        else:
            event.add("dtstart", local)
            event.add("dtend", local + ACTIVITY_LENGTH)
        if activity.location:
            event.add("location", activity.location)
        if activity.summary:
            event.add("description", activity.summary)
        cal.add_component(event)

    cal.add_missing_timezones()
    return cal
