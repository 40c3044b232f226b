"""Activities: attendees, links to records, time zones; follow-ups; bad input."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm.activities.models import (
    Activity,
    ActivityAttendee,
    ActivityPartner,
    FollowUp,
    activity_partner,
)
from crm.db import db
from tests.factories import make_agreement, make_contact, make_partner, make_project


@pytest.fixture
def story():
    bay = make_partner(
        "Management Committee of Taizhou Bay New Area", name_zh="台州湾新区管理委员会"
    )
    ukiic = make_partner("UKIIC")
    lu = make_contact("Lu Hongju", positions=[(bay, "Vice Minister")])
    zhao = make_contact("Zhao Haibin", positions=[(bay, "Minister")])
    agreement = make_agreement("Centre agreement", parties=[(bay, "host"), (ukiic, "party")])
    project = make_project("Innovation Center", partners=[(bay, "host")])
    db.session.commit()
    return {
        "bay": bay,
        "ukiic": ukiic,
        "lu": lu,
        "zhao": zhao,
        "agreement": agreement,
        "project": project,
    }


def meeting(story, users, **extra):
    return {
        "kind": "event",
        "title": "Talent New Deal 2.0 Promotion Meeting",
        "day": "2021-05-17",
        "at": "09:30",
        "timezone": "Asia/Shanghai",
        "location": "Taizhou Hall",
        "summary": "Young talents gather in Taizhou",
        "attendees-0-contact": str(story["lu"].id),
        "attendees-0-role": "presided",
        "attendees-1-contact": str(story["zhao"].id),
        "attendees-1-role": "attended",
        "staff": [str(users["staff"].id), str(users["manager"].id)],
        "partners-0-record": str(story["bay"].id),
        "partners-1-record": str(story["ukiic"].id),
        "agreements-0-record": str(story["agreement"].id),
        "projects-0-record": str(story["project"].id),
        **extra,
    }


def counts():
    return (
        db.session.scalar(select(func.count(Activity.id))),
        db.session.scalar(select(func.count(ActivityAttendee.id))),
        db.session.scalar(select(func.count()).select_from(activity_partner)),
    )


def test_logging_from_a_record_page_links_it_already(staff_client, story):
    page = staff_client.get(f"/activities/new?partner={story['bay'].id}").text
    assert f'name="partners-0-record" type="hidden" value="{story["bay"].id}"' in page
    assert "Management Committee of Taizhou Bay New Area" in page


def test_log_meeting_with_attendees_links_and_time_zone(staff_client, story, users):
    response = staff_client.post_form("/activities/new", meeting(story, users))
    assert response.status_code == 302, response.text
    activity = db.session.scalar(select(Activity))
    # 09:30 in Shanghai (UTC+8) is 01:30 UTC.
    assert activity.occurred_at == datetime(2021, 5, 17, 1, 30, tzinfo=UTC)
    assert [(a.contact.name, a.role) for a in activity.attendees] == [
        ("Lu Hongju", "presided"),
        ("Zhao Haibin", "attended"),
    ]
    assert {u.id for u in activity.staff} == {users["staff"].id, users["manager"].id}
    assert sorted(p.name_en for p in activity.partners) == [
        "Management Committee of Taizhou Bay New Area",
        "UKIIC",
    ]
    assert [a.id for a in activity.agreements] == [story["agreement"].id]
    links = db.session.scalars(select(ActivityPartner)).all()
    assert {link.occurred_at for link in links} == {activity.occurred_at}
    page = staff_client.get(f"/activities/{activity.id}").text
    assert "Lu Hongju" in page and "Presided" in page and "Asia/Shanghai" in page
    # It shows on the timelines of everything it is linked to.
    for url in (f"/partners/{story['bay'].id}", f"/partners/{story['ukiic'].id}"):
        assert "Talent New Deal 2.0 Promotion Meeting" in staff_client.get(url).text


def test_moving_an_activity_moves_its_links(staff_client, story, users):
    staff_client.post_form("/activities/new", meeting(story, users))
    activity = db.session.scalar(select(Activity))
    data = meeting(story, users, day="2021-06-01", version=str(activity.version_id))
    data["attendees-0-id"] = str(activity.attendees[0].id)
    data["attendees-1-id"] = str(activity.attendees[1].id)
    assert staff_client.post_form(f"/activities/{activity.id}/edit", data).status_code == 302
    db.session.expire_all()
    times = set(db.session.scalars(select(activity_partner.c.occurred_at)))
    assert times == {datetime(2021, 6, 1, 1, 30, tzinfo=UTC)}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"title": ""}, "This field is required."),
        ({"title": "t" * 301}, "Field cannot be longer than 300 characters."),
        ({"day": ""}, "This field is required."),
        ({"day": "2021-02-30"}, "Enter a date as YYYY-MM-DD."),
        ({"at": "25:00"}, "Enter a time such as 14:30."),
        ({"timezone": "Mars/Olympus"}, "Not a valid choice."),
        ({"attendees-0-contact": "999999"}, "This record does not exist or is archived."),
        ({"partners-0-record": "abc"}, "Pick a record from the list."),
        ({"kind": "party"}, "Not a valid choice."),
    ],
)
def test_bad_input(staff_client, story, users, change, message):
    before = counts()
    data = meeting(story, users, summary="<script>x</script> 台州 😀", **change)
    response = staff_client.post_form("/activities/new", data)
    assert response.status_code == 200
    assert message in response.text
    assert "&lt;script&gt;x&lt;/script&gt; 台州 😀" in response.text
    assert counts() == before


def test_follow_ups_mine_overdue_first_done_and_undone(app, staff_client, story, users):
    today = date.today()
    for title, due in (
        ("Later", today + timedelta(days=5)),
        ("Late", today - timedelta(days=3)),
        ("Soon", today + timedelta(days=1)),
    ):
        response = staff_client.post_form(
            f"/follow-ups/new?partner={story['bay'].id}",
            {
                "title": title,
                "due_on": due.isoformat(),
                "assignee": str(users["staff"].id),
                "partner": str(story["bay"].id),
            },
        )
        assert response.status_code == 302, response.text
    staff_client.post_form(
        "/follow-ups/new",
        {"title": "Not mine", "due_on": today.isoformat(), "assignee": str(users["manager"].id)},
    )
    page = staff_client.get("/follow-ups/").text
    titles = re.findall(r'/follow-ups/\d+/edit">([^<]+)</a>', page)
    assert titles == ["Late", "Soon", "Later"]
    assert page.count('data-overdue="yes"') == 1
    late = db.session.scalar(select(FollowUp).where(FollowUp.title == "Late"))
    staff_client.post_form(f"/follow-ups/{late.id}/done")
    db.session.expire_all()
    assert db.session.get(FollowUp, late.id).done_on == today
    assert "Late" not in re.findall(
        r'/follow-ups/\d+/edit">([^<]+)</a>', staff_client.get("/follow-ups/").text
    )
    staff_client.post_form(f"/follow-ups/{late.id}/undone")
    db.session.expire_all()
    assert db.session.get(FollowUp, late.id).done_on is None
    everyone = staff_client.get("/follow-ups/?assignee=all").text
    assert "Not mine" in everyone


def test_follow_up_is_about_one_record(staff_client, story, users):
    response = staff_client.post_form(
        "/follow-ups/new",
        {
            "title": "Two things",
            "due_on": "2030-01-01",
            "assignee": str(users["staff"].id),
            "partner": str(story["bay"].id),
            "project": str(story["project"].id),
        },
    )
    assert "A follow-up is about one record: keep only one." in response.text
    assert db.session.scalar(select(func.count(FollowUp.id))) == 0
