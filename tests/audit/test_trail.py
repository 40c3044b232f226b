"""The audit trail: one entry per changed record, links included, in the same
transaction as the change, never for a failed save, never edited or deleted."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.activities.models import Activity, ActivityAttendee, ActivityPartner, FollowUp
from crm.agreements.models import AgreementParty
from crm.audit.models import AuditEntry
from crm.audit.trail import acting_as
from crm.db import db
from crm.partners.models import KeyFigure, PartnerName, Tag
from crm.projects.models import Indicator, IndicatorActual, Milestone, ProjectPartner
from tests.factories import (
    indicator_kinds,
    make_agreement,
    make_contact,
    make_partner,
    make_project,
)


def entries():
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def count():
    return db.session.scalar(select(func.count(AuditEntry.id)))


def last():
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()


def test_one_entry_per_write_across_every_record_and_link(app, users):
    """13 writes, each a separate commit, touching every kind of record and link: exactly
    13 entries, each naming what changed."""
    with acting_as(users["staff"].id):
        a, b = make_partner("Alpha"), make_partner("Beta")
        db.session.commit()  # 1, 2: two partners created (one entry each)
        assert count() == 2

        a.other_names.append(PartnerName(name="Alpha Ltd", kind="alias"))
        a.figures.append(KeyFigure(label="Jobs", value=Decimal(12)))
        a.tags = [Tag(name="biotech")]
        db.session.commit()  # 3: names, figures, tags on one partner: one entry
        assert count() == 3
        assert set(last().changes) == {"other_names", "figures", "tags"}

        contact = make_contact("Lu Hongju", positions=[(a, "Vice Minister")])
        db.session.commit()  # 4
        contact.positions[0].end_date = date(2022, 1, 1)
        db.session.commit()  # 5: a position ended
        assert last().changes["positions"]["changed"][0]["end_date"] == [None, "2022-01-01"]

        agreement = make_agreement("Deal", parties=[(a, "party", contact)])
        db.session.commit()  # 6
        agreement.parties.append(AgreementParty(partner_id=b.id, role="witness"))
        db.session.commit()  # 7: a party added
        assert last().changes["parties"] == {"added": ["Beta — Witness"]}
        agreement.parties.remove(agreement.parties[1])
        db.session.commit()  # 8: a party removed
        assert last().record_type == "agreement"
        assert last().changes["parties"] == {"removed": ["Beta — Witness"]}

        project = make_project("Centre", partners=[(a, "lead")], agreements=[agreement])
        db.session.commit()  # 9
        kinds = indicator_kinds()
        indicator = Indicator(kind=kinds["talents"], target=Decimal(50))
        project.indicators.append(indicator)
        project.milestones.append(Milestone(title="Opening", due_on=date(2021, 12, 31)))
        project.partners.append(ProjectPartner(partner_id=b.id, role="funder"))
        db.session.commit()  # 10: indicator, milestone, partner: one project entry
        indicator.actuals.append(
            IndicatorActual(period="2021", period_end=date(2021, 12, 31), value=Decimal(12))
        )
        db.session.commit()  # 11: an actual, filed under its project
        assert (last().record_type, last().record_id) == ("project", project.id)

        when = datetime(2021, 5, 17, 1, 30, tzinfo=UTC)
        activity = Activity(title="Promotion meeting", kind="event", occurred_at=when)
        activity.attendees.append(ActivityAttendee(contact_id=contact.id, role="presided"))
        activity.partner_links.append(ActivityPartner(partner_id=a.id, occurred_at=when))
        activity.staff = [users["manager"]]
        db.session.add(activity)
        db.session.commit()  # 12
        assert set(last().changes) >= {"attendees", "partners", "staff", "title"}

        db.session.add(
            FollowUp(
                title="Send draft",
                due_on=date(2030, 1, 1),
                assignee_id=users["staff"].id,
                partner_id=a.id,
            )
        )
        db.session.commit()  # 13
    assert count() == 13
    assert {e.user_id for e in entries()} == {users["staff"].id}
    # 7 records created (2 partners, a contact, an agreement, a project, an activity and a
    # follow-up); the other 6 entries are changes to them and their links.
    assert [e.action for e in entries()].count("create") == 7


def test_archive_and_restore_are_named(app, users):
    partner = make_partner()
    db.session.commit()
    partner.archive(users["manager"])
    db.session.commit()
    assert last().action == "archive"
    partner.restore(users["manager"])
    db.session.commit()
    assert last().action == "restore"
    assert count() == 3


def test_failed_save_leaves_no_entry(app):
    partner = make_partner("Kept")
    db.session.commit()
    before = count()
    partner.name_en = "Changed"
    db.session.flush()
    db.session.rollback()
    assert count() == before
    # A save that fails in the database (a check constraint) writes nothing either.
    partner = db.session.get(type(partner), partner.id)
    partner.kind = "not-a-kind"
    with pytest.raises(Exception):  # noqa: B017 - the database's own error type varies
        db.session.commit()
    db.session.rollback()
    assert count() == before


def test_refused_form_writes_nothing(staff_client):
    before = count()
    response = staff_client.post_form(
        "/partners/new", {"name_en": "", "kind": "company", "status": "active", "owner": "0"}
    )
    assert response.status_code == 200
    assert count() == before


def test_entries_are_append_only(app):
    make_partner()
    db.session.commit()
    entry = last()
    entry.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(last())
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_no_route_can_change_the_trail(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule or "history" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_pages_write_entries_with_the_user(staff_client, users):
    staff_client.post_form(
        "/partners/new",
        {"name_en": "Via page", "kind": "company", "status": "active", "owner": "0"},
    )
    entry = last()
    assert (entry.action, entry.user_id, entry.record_type) == (
        "create",
        users["staff"].id,
        "partner",
    )
    assert entry.changes["name_en"] == [None, "Via page"]


def test_bulk_demo_writes_its_entries(app):
    result = app.test_cli_runner().invoke(args=["demo", "--scale", "50"])
    assert result.exit_code == 0
    by_type = dict(
        db.session.execute(
            select(AuditEntry.record_type, func.count()).group_by(AuditEntry.record_type)
        ).all()
    )
    assert by_type == {
        "partner": 50,
        "contact": 50,
        "agreement": 25,
        "project": 10,
        "activity": 25,
    }


def test_admin_log_filters(admin_client, users, app):
    with acting_as(users["manager"].id):
        make_partner("By manager")
        db.session.commit()
    with acting_as(users["staff"].id):
        make_contact("By staff")
        db.session.commit()
    page = admin_client.get(f"/admin/audit?user={users['manager'].id}").text
    assert "By manager" in page and "By staff" not in page
    page = admin_client.get("/admin/audit?kind=contact").text
    assert "By staff" in page and "By manager" not in page
    assert "was not understood" in admin_client.get("/admin/audit?kind=planet").text
