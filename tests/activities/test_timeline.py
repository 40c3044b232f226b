"""Timelines: every kind of event, newest first, filterable, paged, fixed statements."""

import re
from datetime import UTC, date, datetime, timedelta

from crm.activities.models import Activity, ActivityPartner, FollowUp
from crm.db import db
from tests.factories import make_agreement, make_partner, make_project
from tests.querycount import count_statements


def add_activities(partner, n, start=datetime(2020, 1, 1, tzinfo=UTC)):
    for i in range(n):
        when = start + timedelta(hours=i)
        activity = Activity(
            title=f"Meeting {i:05d}", kind="meeting", occurred_at=when, timezone="UTC"
        )
        activity.partner_links.append(ActivityPartner(partner_id=partner.id, occurred_at=when))
        db.session.add(activity)
    db.session.flush()


def titles(page):
    return re.findall(r'/activities/\d+">([^<]+)</a>', page)


def test_timeline_pages_newest_first_every_item_once(staff_client):
    partner = make_partner("Busy")
    add_activities(partner, 60)
    db.session.commit()
    seen, url = [], f"/partners/{partner.id}?tl=activity"
    while url:
        page = staff_client.get(url).text
        seen += titles(page)
        more = re.search(r'rel="next" href="([^"]+)"', page)
        # A browser never sends the #fragment; the test client would.
        url = more.group(1).replace("&amp;", "&").split("#")[0] if more else None
    assert seen == [f"Meeting {i:05d}" for i in reversed(range(60))]


def test_timeline_mixes_and_filters_types(staff_client, users):
    partner = make_partner("Mixed")
    add_activities(partner, 2)
    db.session.add(
        FollowUp(
            title="Send the draft",
            due_on=date(2020, 1, 1),
            assignee_id=users["staff"].id,
            partner_id=partner.id,
        )
    )
    db.session.commit()
    staff_client.post_form(f"/partners/{partner.id}/archive")  # owner is nobody: refused
    page = staff_client.get(f"/partners/{partner.id}").text
    assert 'data-type="activity"' in page and 'data-type="follow_up"' in page
    assert 'data-type="change"' in page  # the creation of the record
    only = staff_client.get(f"/partners/{partner.id}?tl=follow_up").text
    assert 'data-type="activity"' not in only and "Send the draft" in only


def test_agreement_and_project_timelines_show_dates_and_milestones(staff_client):
    a = make_partner()
    b = make_partner()
    agreement = make_agreement(
        parties=[(a, "party"), (b, "party")],
        stage="signed",
        signed_on=date(2021, 5, 17),
        effective_from=date(2021, 6, 1),
        expires_on=date(2031, 5, 31),
        notice_days=90,
    )
    project = make_project(partners=[(a, "lead")])
    from crm.projects.models import Milestone

    project.milestones.append(Milestone(title="Centre opens", due_on=date(2021, 12, 31)))
    db.session.commit()
    page = staff_client.get(f"/agreements/{agreement.id}").text
    for label in ("Signed", "In force from", "Notice deadline", "Expires"):
        assert label in page
    assert "Centre opens" in staff_client.get(f"/projects/{project.id}").text


def test_statement_count_does_not_grow_with_activities(app, staff_client):
    few, many = make_partner("Few"), make_partner("Many")
    add_activities(few, 20)
    add_activities(many, 400)
    db.session.commit()
    staff_client.get("/")
    counted = []
    for partner in (few, many):
        with count_statements(app) as log:
            assert staff_client.get(f"/partners/{partner.id}").status_code == 200
        counted.append(log.count)
    assert counted[0] == counted[1], counted
