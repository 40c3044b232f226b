"""Imports: a messy spreadsheet goes in with exact reasons per row and nothing partial,
every bad file gets a clear message at the field, and undo puts everything back."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from crm.agreements.models import Agreement
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.dataio.models import DataImport, DataImportRow
from crm.db import db
from crm.partners.models import Partner
from tests.factories import make_partner, make_user
from tests.imports import flow


@pytest.fixture
def known(app, users):
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心", kind="accelerator")
    committee = make_partner(
        "Management Committee of Taizhou Bay New Area", name_zh="台州湾新区管理委员会"
    )
    db.session.commit()
    return {"ukiic": ukiic, "committee": committee}


MESSY_CONTACTS = (
    "姓名,中文名,邮箱,单位,职务,备注\n"
    "Liu Xian,刘娴,liu@ukiic.example,UKIIC,Director,\n"
    "Wang Wei,王伟,wang@example.org,台州湾新区管理委员会,主任,见面于台州\n"
    "Liu Xian,,LIU@ukiic.example,UKIIC,Director,\n"
    "Bad Email,,not-an-email,,,\n"
    ",,,,,\n"
    "Zhang San,张三,zhang@example.org,New Org Ltd,Engineer,\n"
)


def test_messy_gb18030_contacts_import_with_exact_reasons(staff_client, known):
    imp = flow.full_import(staff_client, "contact", MESSY_CONTACTS.encode("gb18030"), "联系人.csv")
    assert imp.encoding == "gb18030" and imp.delimiter == ","
    assert imp.status == "done" and imp.row_count == 5
    result = flow.outcomes(imp)
    # Lines are the spreadsheet's: the header is line 1, the blank line 6 is no row.
    assert set(result) == {2, 3, 4, 5, 7}
    assert result[2] == ("created", "")
    assert result[3] == ("created", "")
    assert result[4] == ("skipped", "Already up to date: nothing to change.")
    assert result[5] == ("failed", "Email: “not-an-email” is not an email address.")
    assert result[7] == ("created", "New organisations created: New Org Ltd.")
    assert imp.counts() == {"created": 3, "updated": 0, "skipped": 1, "failed": 1}

    wang = db.session.scalar(select(Contact).where(Contact.email == "wang@example.org"))
    assert wang.name_zh == "王伟" and wang.notes == "见面于台州"
    assert [(p.partner_id, p.title) for p in wang.positions] == [(known["committee"].id, "主任")]
    liu = db.session.scalars(select(Contact).where(Contact.name == "Liu Xian")).all()
    assert len(liu) == 1 and liu[0].email == "liu@ukiic.example"
    assert db.session.scalar(select(Partner).where(Partner.name_en == "New Org Ltd")) is not None
    # Written to the audit trail as an import, by the importer.
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.record_type == "contact", AuditEntry.record_id == wang.id
        )
    )
    assert entry.action == "import" and entry.user_id == imp.user_id


MESSY_AGREEMENTS = (
    "\ufeffTitle;中文标题;类型;阶段;签署日期;Parties;Value;Currency\n"
    "Taizhou Bay cooperation agreement;台州湾合作协议;合作协议;已签署;2021-05-17;"
    "Management Committee of Taizhou Bay New Area [host]; UKIIC [operator];1250000.00;CNY\n"
    "Bad date agreement;;mou;draft;31/02/2021;;;\n"
    "Signed alone;;mou;signed;2021年5月17日;UKIIC;;\n"
    "Value without currency;;mou;draft;;;100;\n"
    "Signed with unknowns;;mou;signed;;Unknown Org A; Unknown Org B;;\n"
    "New party agreement;;Letter of intent;草稿;;Brand New Partner Co [funder]; UKIIC;;\n"
)


def test_messy_agreements_fail_whole_rows_and_create_nothing_partial(staff_client, known):
    data = MESSY_AGREEMENTS.replace(
        "Unknown Org A; Unknown Org B", '"Unknown Org A; Unknown Org B"'
    )
    data = data.replace(
        "Management Committee of Taizhou Bay New Area [host]; UKIIC [operator]",
        '"Management Committee of Taizhou Bay New Area [host]; UKIIC [operator]"',
    ).replace("Brand New Partner Co [funder]; UKIIC", '"Brand New Partner Co [funder]; UKIIC"')
    imp = flow.full_import(staff_client, "agreement", data.encode("utf-8"), "agreements.csv")
    assert imp.encoding == "utf-8-sig" and imp.delimiter == ";"
    result = flow.outcomes(imp)
    assert result[2][0] == "created"
    assert result[3] == ("failed", "Signed on: “31/02/2021” is not a date: write it as YYYY-MM-DD.")
    assert result[4] == (
        "failed",
        "A signed agreement needs at least two organisations as parties.",
    )
    assert result[5] == ("failed", "Currency: Choose the currency of the amount.")
    assert result[6] == ("failed", "Enter the date it was signed.")
    assert result[7] == ("created", "New organisations created: Brand New Partner Co.")

    signed = db.session.scalar(select(Agreement).where(Agreement.title_zh == "台州湾合作协议"))
    assert signed.stage == "signed" and str(signed.value_amount) == "1250000.00"
    assert sorted((p.partner_id, p.role) for p in signed.parties) == sorted(
        [(known["committee"].id, "host"), (known["ukiic"].id, "operator")]
    )
    # Nothing partial: the failed rows left no agreement and no organisation behind.
    titles = set(db.session.scalars(select(Agreement.title)))
    assert titles == {"Taizhou Bay cooperation agreement", "New party agreement"}
    names = set(db.session.scalars(select(Partner.name_en)))
    assert "Unknown Org A" not in names and "Unknown Org B" not in names
    assert "Brand New Partner Co" in names
    new = db.session.scalar(select(Agreement).where(Agreement.title == "New party agreement"))
    assert new.type == "loi" and new.stage == "draft"
    assert {p.role for p in new.parties} == {"funder", "party"}


def test_preview_shows_errors_matches_and_repeats_before_anything_is_saved(staff_client, known):
    response = flow.upload(staff_client, "contact", MESSY_CONTACTS.encode("gb18030"))
    imp = flow.last_import()
    # The Chinese headers were understood.
    assert flow.mapping_choices(staff_client, imp.id) == {
        "col-0": "name",
        "col-1": "name_zh",
        "col-2": "email",
        "col-3": "organisation",
        "col-4": "title",
        "col-5": "notes",
    }
    assert response.status_code == 302
    flow.check(staff_client, imp.id)
    page = staff_client.get(f"/imports/{imp.id}/preview")
    assert page.status_code == 200
    assert "“not-an-email” is not an email address." in page.text
    assert "Same name as line 2 of this file" in page.text
    errors = staff_client.get(f"/imports/{imp.id}/preview?show=error").text
    assert 'data-line="5"' in errors and 'data-line="2"' not in errors
    assert db.session.scalar(select(func.count(Contact.id))) == 0


def test_existing_records_are_matched_by_any_name_and_updated(staff_client, known):
    data = "名称,中文名,国家,类型,网址\n英国国际创新中心,,GB,加速器或孵化器,https://ukiic.example\n"
    imp = flow.full_import(staff_client, "partner", data.encode("utf-8"))
    assert flow.outcomes(imp) == {2: ("updated", "Changed: Country, Website.")}
    ukiic = db.session.get(Partner, known["ukiic"].id)
    assert ukiic.country == "GB" and ukiic.website == "https://ukiic.example"
    assert ukiic.name_en == "UKIIC"  # the Chinese name matched; nothing else was renamed
    assert db.session.scalar(select(func.count(Partner.id))) == 2


def test_xlsx_import_reads_typed_cells(staff_client, known):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Status", "Start", "Budget", "Currency", "Partners"])
    from datetime import datetime

    sheet.append(
        ["Innovation Centre", "Active", datetime(2021, 5, 17), 5000000.5, "CNY", "UKIIC [lead]"]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    imp = flow.full_import(staff_client, "project", buffer.getvalue(), "projects.xlsx")
    assert imp.file_format == "xlsx"
    assert flow.outcomes(imp) == {2: ("created", "")}
    from crm.projects.models import Project

    project = db.session.scalar(select(Project))
    assert str(project.start_date) == "2021-05-17" and str(project.budget_amount) == "5000000.50"
    assert [(p.partner_id, p.role) for p in project.partners] == [(known["ukiic"].id, "lead")]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"\n\n", "blank.csv", "The file is empty."),
        (b"Name,Email\n", "header.csv", "The file has column names but no rows under them."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "pic.csv", "This is a PNG image, not a"),
        (b"PK\x03\x04not really a zip", "fake.xlsx", "This is not a spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "old.xls", "old Excel (.xls)"),
        ("Name\nCafé\n".encode("latin-1"), "latin.csv", "neither UTF-8 nor GB18030"),
        (b'Name,Email\n"open quote,x\n', "quote.csv", None),
    ],
)
def test_bad_files_get_a_clear_message_at_the_field(staff_client, data, name, message):
    response = flow.upload(staff_client, "partner", data, name)
    if message is None:  # an unclosed quote reads to the end of the file: a row, not an error
        assert response.status_code == 302
        return
    assert response.status_code == 200
    assert 'data-field="file"' in response.text and message in response.text
    assert db.session.scalar(select(func.count(DataImport.id))) == 0
    from pathlib import Path

    folder = Path(staff_client.application.instance_path) / "imports"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_too_large_files_are_refused_at_the_field(make_app, tmp_path):
    app = make_app(IMPORT_MAX_BYTES=1000, MAX_CONTENT_LENGTH=5000)
    with app.app_context():
        user = make_user(role="staff")
        db.session.commit()
        client = app.test_client().login_as(user)
        over_import_limit = flow.upload(client, "partner", b"Name\n" + b"x" * 2000)
        assert over_import_limit.status_code == 200
        assert "The file is larger than" in over_import_limit.text
        over_request_limit = flow.upload(client, "partner", b"Name\n" + b"x" * 9000)
        assert over_request_limit.status_code == 413
        assert 'data-field="file"' in over_request_limit.text
        assert "The file is larger than" in over_request_limit.text
        db.session.remove()


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("gb18030", "\t"), ("utf-8", "\t")],
)
def test_encodings_and_delimiters(staff_client, known, encoding, delimiter):
    text = delimiter.join(["名称", "中文名", "城市"]) + "\n"
    text += delimiter.join(["Taizhou Science Park", "台州科技园", "台州"]) + "\n"
    imp = flow.full_import(staff_client, "partner", text.encode(encoding))
    assert imp.delimiter == delimiter
    partner = db.session.scalar(select(Partner).where(Partner.name_zh == "台州科技园"))
    assert partner is not None and partner.city == "台州"


def test_mapping_needs_a_name_and_each_field_once(staff_client, known):
    flow.upload(staff_client, "partner", b"A,B\nx,y\n")
    imp = flow.last_import()
    response = staff_client.post_form(
        f"/imports/{imp.id}/mapping", {"col-0": "city", "col-1": "city"}
    )
    assert response.status_code == 200
    assert "is already taken by another column" in response.text
    assert "Map a column to English name / Chinese name / ID." in response.text
    assert flow.last_import().status == "mapping"


def test_undo_restores_the_state_before_the_import(staff_client, known, users):
    before = {
        p.id: (p.name_en, p.country, p.version_id) for p in db.session.scalars(select(Partner))
    }
    data = "Name,Country,Other names\nUKIIC,GB,UK Innovation Centre\nBrand New Co,CN,\n"
    imp = flow.full_import(staff_client, "partner", data.encode())
    assert imp.counts()["created"] == 1 and imp.counts()["updated"] == 1
    ukiic = db.session.get(Partner, known["ukiic"].id)
    assert ukiic.country == "GB" and [n.name for n in ukiic.other_names] == ["UK Innovation Centre"]

    response = staff_client.post_form(f"/imports/{imp.id}/undo")
    assert response.status_code == 302
    flow.steps(staff_client, imp.id)
    db.session.rollback()
    assert flow.last_import().status == "undone"
    ukiic = db.session.get(Partner, known["ukiic"].id)
    assert ukiic.country == "" and ukiic.other_names == []
    created = db.session.scalar(select(Partner).where(Partner.name_en == "Brand New Co"))
    assert created.archived_at is not None
    live = {
        p.id: (p.name_en, p.country)
        for p in db.session.scalars(select(Partner).where(Partner.archived_at.is_(None)))
    }
    assert live == {pid: values[:2] for pid, values in before.items()}
    actions = set(
        db.session.scalars(select(AuditEntry.action).where(AuditEntry.record_type == "partner"))
    )
    assert "import_undo" in actions


def test_undo_is_refused_when_a_record_changed_since(staff_client, known, users):
    imp = flow.full_import(staff_client, "partner", b"Name,City\nUKIIC,London\n")
    ukiic = db.session.get(Partner, known["ukiic"].id)
    ukiic.city = "Cambridge"  # someone edits it afterwards
    db.session.commit()
    response = staff_client.post_form(f"/imports/{imp.id}/undo", follow_redirects=True)
    assert "cannot be undone" in response.text and "UKIIC" in response.text
    assert flow.last_import().status == "done"
    assert db.session.get(Partner, known["ukiic"].id).city == "Cambridge"


def test_only_the_importer_or_a_manager_sees_and_undoes_an_import(app, users, known):
    staff = app.test_client().login_as(users["staff"])
    imp = flow.full_import(staff, "partner", b"Name\nSomething New\n")
    other = make_user(role="staff")
    db.session.commit()
    other_client = app.test_client().login_as(other)
    assert other_client.get(f"/imports/{imp.id}").status_code == 403
    assert other_client.post_form(f"/imports/{imp.id}/undo").status_code == 403
    manager = app.test_client().login_as(users["manager"])
    assert manager.get(f"/imports/{imp.id}").status_code == 200
    assert manager.post_form(f"/imports/{imp.id}/undo").status_code == 302


def test_report_csv_lists_every_row_with_its_reason(staff_client, known):
    imp = flow.full_import(staff_client, "contact", MESSY_CONTACTS.encode("gb18030"))
    response = staff_client.get(f"/imports/{imp.id}/report.csv")
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = response.data.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("Line,Outcome,Reason,Record ID,姓名,中文名")
    assert len(lines) == 6
    assert lines[4].startswith("5,Failed,Email: “not-an-email” is not an email address.,,Bad Email")


def test_no_javascript_continue_button_advances_one_chunk(make_app):
    app = make_app(IMPORT_CHUNK_ROWS=2)
    with app.app_context():
        user = make_user(role="staff")
        db.session.commit()
        client = app.test_client().login_as(user)
        rows = "Name\n" + "".join(f"Partner {i}\n" for i in range(5))
        flow.upload(client, "partner", rows.encode())
        imp = flow.last_import()
        client.post_form(f"/imports/{imp.id}/mapping", {"col-0": "name_en"})
        page = client.get(f"/imports/{imp.id}/progress")
        assert "Continue" in page.text and "0 of 5" in page.text
        response = client.post_form(f"/imports/{imp.id}/step")
        assert response.status_code == 302 and response.headers["Location"].endswith("/progress")
        assert flow.last_import().position == 2
        client.post_form(f"/imports/{imp.id}/step")
        response = client.post_form(f"/imports/{imp.id}/step")
        assert response.headers["Location"].endswith("/preview")
        assert db.session.scalar(select(func.count(DataImportRow.id))) == 5
        db.session.remove()
