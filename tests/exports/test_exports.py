"""Exports: each list with the page's filters and sort, CSV with BOM and XLSX, streamed in
batches, guarded against formulas, audited; and an export imports back unchanged."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from crm.activities.models import FollowUp
from crm.audit.models import AuditEntry
from crm.db import db
from crm.listing import Filter
from crm.partners import queries as partner_queries
from crm.partners.models import Partner, PartnerName, Tag
from crm.projects.models import Project
from tests.factories import make_agreement, make_contact, make_partner, make_project
from tests.imports import flow


def read_csv(response) -> list[list[str]]:
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_xlsx(response) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
def story(app, users):
    owner = users["manager"]
    committee = make_partner(
        "Management Committee of Taizhou Bay New Area",
        name_zh="台州湾新区管理委员会",
        kind="government",
        country="CN",
        owner=owner,
    )
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心", kind="accelerator", country="GB")
    ukiic.other_names.append(PartnerName(name="UK Innovation Centre", kind="alias"))
    ukiic.tags.append(Tag(name="innovation"))
    ukiic.refresh_derived()
    ekoo = make_partner('=HYPERLINK("http://evil.example")', kind="company", country="CN")
    liu = make_contact(
        "Liu Xian",
        name_zh="刘娴",
        email="liu@ukiic.example",
        phone="+86 576 1234",
        positions=[(ukiic, "Director")],
    )
    agreement = make_agreement(
        "Taizhou Bay cooperation agreement",
        title_zh="台州湾合作协议",
        parties=[(committee, "host"), (ukiic, "operator", liu)],
        stage="signed",
        signed_on=date(2021, 5, 17),
        value_amount=Decimal("1250000.00"),
        value_currency="CNY",
        auto_renew=True,
        notice_days=90,
    )
    make_project(
        "Taizhou Bay China-UK Innovation Center",
        name_zh="台州湾中英创新中心",
        partners=[(committee, "host"), (ukiic, "lead")],
        agreements=[agreement],
        start_date=date(2021, 5, 17),
        budget_amount=Decimal("50000000.00"),
        budget_currency="CNY",
    )
    db.session.commit()
    return {"committee": committee, "ukiic": ukiic, "ekoo": ekoo, "liu": liu}


def test_csv_export_has_the_pages_filters_and_sort(manager_client, story):
    response = manager_client.get("/export/partners.csv?country=CN&sort=name&dir=desc")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="partners-')
    rows = read_csv(response)
    assert rows[0][:3] == ["ID", "English name", "Chinese name"]
    names = [row[1] for row in rows[1:]]
    assert names == [
        "Management Committee of Taizhou Bay New Area",
        '\'=HYPERLINK("http://evil.example")',
    ]
    assert rows[1][2] == "台州湾新区管理委员会"


def test_xlsx_export_matches_the_csv_and_writes_no_formula(manager_client, story):
    rows = read_xlsx(manager_client.get("/export/partners.xlsx?sort=name"))
    csv_rows = read_csv(manager_client.get("/export/partners.csv?sort=name"))
    assert [r[1] for r in rows[1:]] == [
        '=HYPERLINK("http://evil.example")',
        "Management Committee of Taizhou Bay New Area",
        "UKIIC",
    ]
    assert len(rows) == len(csv_rows)
    workbook = openpyxl.load_workbook(io.BytesIO(manager_client.get("/export/partners.xlsx").data))
    cell = next(
        c
        for row in workbook.worksheets[0].iter_rows()
        for c in row
        if c.value and str(c.value).startswith("=HYPER")
    )
    assert cell.data_type == "s"  # a string cell: no spreadsheet evaluates it


def test_new_list_filters_apply_to_the_export_by_themselves(manager_client, story, monkeypatch):
    def only_gb(query, value):
        return query.where(Partner.country == value)

    monkeypatch.setattr(
        partner_queries, "FILTERS", [*partner_queries.FILTERS, Filter("land", only_gb)]
    )
    rows = read_csv(manager_client.get("/export/partners.csv?land=GB"))
    assert [row[1] for row in rows[1:]] == ["UKIIC"]


def test_rows_are_streamed_in_keyset_batches_each_once_in_order(make_app):
    app = make_app(EXPORT_BATCH_ROWS=3)
    with app.app_context():
        from tests.factories import make_user

        manager = make_user(role="manager")
        for i in range(10):
            make_partner(f"Partner {i:02d}")
        db.session.commit()
        client = app.test_client().login_as(manager)
        rows = read_csv(client.get("/export/partners.csv?sort=name"))
        assert [row[1] for row in rows[1:]] == [f"Partner {i:02d}" for i in range(10)]
        rows = read_xlsx(client.get("/export/partners.xlsx?sort=name&dir=desc"))
        assert [row[1] for row in rows[1:]] == [f"Partner {i:02d}" for i in reversed(range(10))]
        db.session.remove()


def test_every_list_exports(manager_client, story, users):
    follow_up = FollowUp(
        title="Send the MoU draft",
        due_on=date(2030, 1, 1),
        assignee_id=users["manager"].id,
        partner_id=story["ukiic"].id,
    )
    db.session.add(follow_up)
    from crm.activities.models import Activity, ActivityPartner
    from crm.db import utcnow

    activity = Activity(
        kind="meeting", title="Signing ceremony", occurred_at=utcnow(), timezone="Asia/Shanghai"
    )
    activity.partner_links.append(
        ActivityPartner(partner_id=story["ukiic"].id, occurred_at=activity.occurred_at)
    )
    activity.refresh_derived()
    db.session.add(activity)
    db.session.commit()
    for key, expected in [
        ("contacts", "Liu Xian"),
        ("agreements", "Taizhou Bay cooperation agreement"),
        ("projects", "Taizhou Bay China-UK Innovation Center"),
        ("activities", "Signing ceremony"),
        ("follow-ups", "Send the MoU draft"),
    ]:
        for fmt in ("csv", "xlsx"):
            response = manager_client.get(f"/export/{key}.{fmt}")
            assert response.status_code == 200, key
            rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
            assert any(
                expected in (cell or "")
                for row in rows[1:]
                for cell in row
                if isinstance(cell, str)
            ), key


def test_exports_are_audited_and_for_managers_only(manager_client, staff_client, story, users):
    assert staff_client.get("/export/partners.csv").status_code == 403
    assert manager_client.get("/export/nothing.csv").status_code == 404
    manager_client.get("/export/partners.csv?kind=government&after=xyz").get_data()
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "export"))
    assert entry.action == "export" and entry.user_id == users["manager"].id
    assert entry.changes == {
        "list": "partners",
        "format": "csv",
        "filters": "kind=government",
        "rows": 1,
        "complete": True,
    }
    page = manager_client.get("/admin/audit") if users["manager"].role == "admin" else None
    assert page is None


def test_audit_log_shows_export_entries(admin_client, manager_client, story):
    manager_client.get("/export/contacts.xlsx").get_data()
    page = admin_client.get("/admin/audit")
    assert page.status_code == 200 and "Exported" in page.text


def _state():
    """Every row of every record table, as comparable tuples."""
    from crm.agreements.models import Agreement, AgreementParty
    from crm.contacts.models import Contact, Position
    from crm.projects.models import ProjectPartner, project_agreement

    db.session.rollback()
    state = {}
    for model in (
        Partner,
        PartnerName,
        Contact,
        Position,
        Agreement,
        AgreementParty,
        Project,
        ProjectPartner,
    ):
        table = model.__table__
        state[table.name] = sorted(tuple(row) for row in db.session.execute(select(table)).all())
    state["project_agreement"] = sorted(db.session.execute(select(project_agreement)).all())
    state["partner_tag"] = sorted(
        db.session.execute(select(Partner.id, Tag.name).join(Partner.tags)).all()
    )
    return state


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_back_changes_nothing(manager_client, story, fmt):
    before = _state()
    entries = db.session.scalar(select(func.count(AuditEntry.id)))
    for key, kind in [
        ("partners", "partner"),
        ("contacts", "contact"),
        ("agreements", "agreement"),
        ("projects", "project"),
    ]:
        exported = manager_client.get(f"/export/{key}.{fmt}")
        assert exported.status_code == 200
        imp = flow.full_import(manager_client, kind, exported.data, f"{key}.{fmt}", match="update")
        assert imp.counts()["failed"] == 0, flow.outcomes(imp)
        assert imp.counts()["created"] == 0 and imp.counts()["updated"] == 0, flow.outcomes(imp)
        assert imp.counts()["skipped"] == imp.row_count > 0
    assert _state() == before
    new_kinds = set(
        db.session.scalars(select(AuditEntry.record_type).where(AuditEntry.id > entries))
    )
    assert new_kinds <= {"export", "import"}  # no record changed
