"""The personal calendar feed: a secret URL made, replaced and turned off in the settings;
valid iCalendar with stable UIDs, all-day dates and time zones; whose items it shows."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from crm.activities.models import Activity, ActivityProject, FollowUp
from crm.auth import operations as accounts
from crm.db import db
from crm.feeds.models import CalendarFeed
from crm.projects.models import Milestone
from tests import factories
from tests.querycount import count_statements

TODAY = date.today()


def turn_on(client) -> str:
    """Turn the feed on from the settings page; returns the feed's path (shown once)."""
    page = client.post_form("/account/calendar/regenerate")
    assert page.status_code == 200 and "will not be shown again" in page.text
    url = page.text.split('id="feed-url"')[1].split('value="')[1].split('"')[0]
    assert url.startswith("http://localhost/calendar/") and url.endswith(".ics")
    return url.removeprefix("http://localhost")


def fetch(client, path) -> Calendar:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    return Calendar.from_ical(response.data)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def activity(title, owner, when, zone="Asia/Shanghai", staff=()):
    record = Activity(title=title, kind="meeting", occurred_at=when, timezone=zone)
    record.owner_id = owner.id
    record.staff = list(staff)
    record.refresh_derived()
    db.session.add(record)
    db.session.flush()
    return record


@pytest.fixture
def story(users):
    """Records around the staff user, and some of others that must stay out of the feed."""
    staff, manager = users["staff"], users["manager"]
    partner = factories.make_partner()
    signed = dict(
        stage="signed",
        effective_from=TODAY - timedelta(days=300),
        expires_on=TODAY + timedelta(days=65),
        notice_days=30,
    )
    mine = factories.make_agreement(
        "Three-party agreement", title_zh="三方协议", owner=staff, **signed
    )
    theirs = factories.make_agreement("Manager's agreement", owner=manager, **signed)
    factories.make_agreement("Draft", owner=staff, stage="draft", expires_on=TODAY)
    led = factories.make_project("Innovation centre", owner=staff)
    led.milestones.append(Milestone(title="Opening", due_on=TODAY + timedelta(days=10)))
    other = factories.make_project("Someone else's", owner=manager)
    other.milestones.append(Milestone(title="Not mine", due_on=TODAY + timedelta(days=5)))
    joined = factories.make_project("Joined project", owner=manager)
    joined.milestones.append(Milestone(title="Review", due_on=TODAY + timedelta(days=20)))
    meeting = activity(
        "Delegation visit",
        manager,
        datetime.combine(TODAY + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
        + timedelta(hours=6, minutes=30),
        staff=[staff],
    )
    link = ActivityProject(project_id=joined.id, occurred_at=meeting.occurred_at)
    meeting.project_links.append(link)
    day_only = activity(
        "Promotion day", staff, datetime(2030, 1, 1, 16, 0, tzinfo=UTC), zone="Asia/Shanghai"
    )
    activity("Not there", manager, datetime(2030, 1, 2, 9, 0, tzinfo=UTC))
    due = FollowUp(title="Send the draft", due_on=TODAY + timedelta(days=2), assignee_id=staff.id)
    due.partner_id = partner.id
    done = FollowUp(title="Done already", due_on=TODAY, assignee_id=staff.id, done_on=TODAY)
    others = FollowUp(title="Manager's task", due_on=TODAY, assignee_id=manager.id)
    db.session.add_all([due, done, others])
    db.session.commit()
    return {
        "mine": mine,
        "theirs": theirs,
        "led": led,
        "joined": joined,
        "meeting": meeting,
        "day_only": day_only,
        "due": due,
    }


def test_the_feed_is_valid_icalendar_with_the_users_items(app, staff_client, story):
    path = turn_on(staff_client)
    calendar = fetch(app.test_client(), path)  # no cookie: the URL alone opens it
    assert calendar["VERSION"] == "2.0" and "PRODID" in calendar
    found = events(calendar)
    mine = story["mine"]
    end = found[f"agreement-{mine.id}-end@localhost"]
    assert str(end["SUMMARY"]) == "Agreement expires: Three-party agreement · 三方协议"
    assert end.decoded("DTSTART") == TODAY + timedelta(days=65)
    assert end.decoded("DTEND") == TODAY + timedelta(days=66)  # all day
    notice = found[f"agreement-{mine.id}-notice@localhost"]
    assert notice.decoded("DTSTART") == TODAY + timedelta(days=35)
    assert str(notice["URL"]).endswith(f"/agreements/{mine.id}")
    assert f"agreement-{story['theirs'].id}-end@localhost" not in found
    titles = {str(e["SUMMARY"]) for e in found.values()}
    assert "Milestone: Opening (Innovation centre)" in titles
    assert "Milestone: Review (Joined project)" in titles  # present at an activity of it
    assert not any("Not mine" in t or "Draft" in t for t in titles)
    assert "Follow-up: Send the draft" in titles
    assert not any("Done already" in t or "Manager's task" in t for t in titles)
    assert "Meeting: Delegation visit" in titles and "Meeting: Not there" not in titles

    visit = found[f"activity-{story['meeting'].id}@localhost"]
    start = visit.decoded("DTSTART")
    assert start.tzinfo is not None and str(visit["DTSTART"].params["TZID"]) == "Asia/Shanghai"
    assert (start.hour, start.minute) == (14, 30)
    assert visit.decoded("DTEND") - start == timedelta(hours=1)
    assert "Asia/Shanghai" in {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    # Midnight local time is how the form stores a day without a time: an all-day event.
    day = found[f"activity-{story['day_only'].id}@localhost"]
    assert day.decoded("DTSTART") == date(2030, 1, 2)


def test_uids_are_stable_and_an_edit_moves_the_event(app, staff_client, story):
    path = turn_on(staff_client)
    client = app.test_client()
    before = events(fetch(client, path))
    story["due"].due_on = TODAY + timedelta(days=9)
    db.session.commit()
    after = events(fetch(client, path))
    assert set(before) == set(after)
    uid = f"follow-up-{story['due'].id}@localhost"
    assert after[uid].decoded("DTSTART") == TODAY + timedelta(days=9)


def test_managers_get_every_signed_agreements_dates(app, manager_client, story):
    found = events(fetch(app.test_client(), turn_on(manager_client)))
    assert f"agreement-{story['mine'].id}-end@localhost" in found
    assert f"agreement-{story['theirs'].id}-notice@localhost" in found


def test_a_new_address_kills_the_old_one_and_turning_off_kills_both(app, staff_client, users):
    client = app.test_client()
    first = turn_on(staff_client)
    second = turn_on(staff_client)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    feed = db.session.scalar(select(CalendarFeed))
    secret = second.removeprefix("/calendar/").removesuffix(".ics")
    assert feed.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in staff_client.get("/account/calendar").text
    assert staff_client.post_form("/account/calendar/revoke").status_code == 302
    assert client.get(second).status_code == 404
    assert "Your calendar feed is off." in staff_client.get("/account/calendar").text


def test_a_deactivated_users_feed_is_gone(app, staff_client, users):
    path = turn_on(staff_client)
    accounts.deactivate(users["staff"])
    db.session.commit()
    assert app.test_client().get(path).status_code == 404


@pytest.mark.parametrize(
    "secret",
    ["x", "", "a" * 300, "%00", "..%2F..%2Fetc", "\u53f0\u5dde", "%ff%fe"],
)
def test_garbled_or_unknown_secrets_are_404(app, client, users, secret):
    response = client.get(f"/calendar/{secret}.ics")
    assert response.status_code == 404


def test_the_feed_sends_a_fixed_number_of_statements(app, staff_client, users):
    path = turn_on(staff_client)
    client = app.test_client()
    staff = users["staff"]
    counted = []
    for n in (1, 8):
        for i in range(n):
            factories.make_agreement(
                owner=staff, stage="signed", expires_on=TODAY + timedelta(days=i + 1), notice_days=7
            )
            project = factories.make_project(owner=staff)
            project.milestones.append(Milestone(title=f"M{i}", due_on=TODAY + timedelta(days=i)))
            db.session.add(FollowUp(title=f"F{i}", due_on=TODAY, assignee_id=staff.id))
            activity(f"A{i}", staff, datetime(2030, 1, 1, 3, i, tzinfo=UTC), staff=[staff])
        db.session.commit()
        with count_statements(app) as log:
            assert client.get(path).status_code == 200
        counted.append(log.count)
    assert counted[0] == counted[1], counted
