"""The staff home page: my partners, follow-ups, agreements and milestones coming due,
what I logged; the same number of statements however much there is."""

from datetime import UTC, date, datetime, timedelta

from crm.activities.models import Activity, FollowUp
from crm.db import db
from crm.projects.models import Milestone
from tests.factories import make_agreement, make_partner, make_project
from tests.querycount import count_statements


def populate(users, n, today):
    me, other = users["staff"], users["manager"]
    for i in range(n):
        mine = make_partner(f"Mine {i}", owner=me)
        make_partner(f"Theirs {i}", owner=other)
        db.session.add(
            FollowUp(
                title=f"Call back {i}",
                due_on=today - timedelta(days=1),
                assignee_id=me.id,
                partner_id=mine.id,
            )
        )
        make_agreement(
            f"Expiring {i}",
            parties=[(mine, "party")],
            owner=me,
            stage="signed",
            signed_on=today - timedelta(days=300),
            effective_from=today - timedelta(days=300),
            expires_on=today + timedelta(days=60),
            notice_days=30,
        )
        project = make_project(f"Project {i}", owner=me)
        project.milestones.append(Milestone(title=f"Milestone {i}", due_on=today))
        db.session.add(
            Activity(
                title=f"Logged {i}",
                kind="call",
                owner_id=me.id,
                occurred_at=datetime.now(UTC) - timedelta(hours=i),
            )
        )
    db.session.commit()


def test_home_shows_what_is_mine_and_coming_due(staff_client, users):
    today = date.today()
    populate(users, 2, today)
    page = staff_client.get("/").text
    for text in ("Mine 0", "Call back 0", "Expiring 0", "Milestone 0", "Logged 0", "overdue"):
        assert text in page, text
    assert "Theirs 0" not in page
    assert f"Notice deadline {today + timedelta(days=30)}" in page


def test_home_statement_count_is_fixed(app, staff_client, users):
    staff_client.get("/")
    counts = []
    for n in (3, 30):
        populate(users, n if not counts else n - 3, date.today())
        with count_statements(app) as log:
            assert staff_client.get("/").status_code == 200
        counts.append(log.count)
    assert counts[0] == counts[1], counts


def test_home_keeps_agreements_due_after_their_notice_passed_and_ignores_old_ones(
    staff_client, users
):
    """An agreement whose notice deadline passed but which expires in the window is still
    coming due; long-expired ones do not crowd out the current ones."""
    today = date.today()
    me = users["staff"]
    for i in range(250):
        make_agreement(
            f"Long gone {i}", owner=me, stage="signed", expires_on=today - timedelta(days=400 + i)
        )
    make_agreement(
        "Notice passed",
        owner=me,
        stage="signed",
        expires_on=today + timedelta(days=20),
        notice_days=60,
    )
    db.session.commit()
    page = staff_client.get("/").text
    assert "Notice passed" in page
    assert "Long gone" not in page
    assert f"Expires {today + timedelta(days=20)}" in page
