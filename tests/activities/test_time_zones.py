"""Local times that the clocks skip or show twice, on the page and through the API.

A time inside a spring-forward gap (2026-03-29 01:30 in London, 2026-03-08 02:30 in New
York) never happened there: it is refused at the time field, not moved by an hour. A time
the clocks show twice (2026-10-25 01:30 in London) is taken as the first of the two
(fold=0, still on summer time), as documented in the README.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from crm.activities.models import Activity
from crm.db import db
from tests.api.conftest import ApiClient


def activity(**extra):
    return {"kind": "meeting", "title": "Visit", "day": "2026-03-29", "at": "01:30", **extra}


GAPS = [
    ("2026-03-29", "01:30", "Europe/London"),
    ("2026-03-08", "02:30", "America/New_York"),
    ("2026-03-08", "02:00", "America/New_York"),
]


@pytest.mark.parametrize(("day", "at", "zone"), GAPS)
def test_a_time_the_clocks_skip_is_refused_at_the_field(staff_client, users, day, at, zone):
    response = staff_client.post_form(
        "/activities/new", activity(day=day, at=at, timezone=zone, title="Kept 台州")
    )
    assert response.status_code == 200
    assert f"This time does not exist in {zone} (clocks go forward)" in response.text
    assert 'data-field="at"' in response.text
    assert 'value="Kept 台州"' in response.text and f'value="{at}"' in response.text
    assert db.session.scalar(select(func.count(Activity.id))) == 0


@pytest.mark.parametrize(
    ("day", "at", "zone", "utc"),
    [
        # The first 01:30 of the night the clocks go back: still BST (UTC+1).
        ("2026-10-25", "01:30", "Europe/London", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("2026-11-01", "01:30", "America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        # Just either side of a gap: real times, kept as typed.
        ("2026-03-29", "00:59", "Europe/London", datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        ("2026-03-29", "02:00", "Europe/London", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ],
)
def test_times_the_clocks_show_twice_or_near_a_gap_are_kept(
    staff_client, users, day, at, zone, utc
):
    response = staff_client.post_form("/activities/new", activity(day=day, at=at, timezone=zone))
    assert response.status_code == 302, response.text
    stored = db.session.scalar(select(Activity))
    assert stored.occurred_at == utc


@pytest.fixture
def api_staff(app, users):
    from crm.api.tokens import create_token

    token = create_token(users["staff"], "zones", None)[1]
    db.session.commit()
    return ApiClient(app, token)


@pytest.mark.parametrize(("day", "at", "zone"), GAPS)
def test_the_api_refuses_a_time_the_clocks_skip(api_staff, day, at, zone):
    body = {"title": "Visit", "day": day, "at": at, "timezone": zone}
    response = api_staff.post("/api/v1/activities", json=body)
    assert response.status_code == 422
    assert "clocks go forward" in " ".join(response.json["errors"]["at"])
    assert db.session.scalar(select(func.count(Activity.id))) == 0


def test_the_api_takes_the_first_of_a_time_shown_twice(api_staff):
    body = {"title": "Visit", "day": "2026-10-25", "at": "01:30", "timezone": "Europe/London"}
    created = api_staff.post("/api/v1/activities", json=body)
    assert created.status_code == 201
    assert created.json["occurred_at"] == "2026-10-25T00:30:00+00:00"
