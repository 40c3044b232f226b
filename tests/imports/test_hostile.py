"""Imports against what should not get in: binary files renamed .csv, rows the record's
form would refuse, hand-made page links; and a pending import thrown away."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from crm.agreements.models import Agreement
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.dataio.models import DataImport, DataImportRow
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project
from tests.factories import make_partner, make_user
from tests.imports import flow

PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Length 44 /Filter /FlateDecode >>\nstream\n"
    + bytes(range(0x80, 0xFF))
    + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def stored_files(client) -> list:
    folder = Path(client.application.instance_path) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def zipped(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (PDF, "partners.csv", "This is a PDF document, not a spreadsheet"),
        (b"%PDF-1.4\nName\nAcme\n", "partners.csv", "This is a PDF document, not a spreadsheet"),
        (b"GIF89a" + b"\x01" * 40, "partners.csv", "This is a GIF image, not a spreadsheet"),
        (b"\x1f\x8b\x08" + b"\x80" * 40, "partners.csv", "compressed (gzip) file"),
        (zipped({"a.txt": b"x"}), "partners.xlsx", "This is not a spreadsheet"),
        (b"Name\nAcme\x00Ltd\n", "nul.csv", "This is not a spreadsheet"),
        # Decodes as GB18030, but is mostly control characters: a binary file.
        (b"Name\n" + bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16]) * 20, "bin.csv", "not a spread"),
    ],
)
def test_files_that_are_not_text_are_refused_at_the_field(staff_client, data, name, message):
    response = flow.upload(staff_client, "partner", data, name)
    assert response.status_code == 200
    assert 'data-field="file"' in response.text and message in response.text
    assert db.session.scalar(select(func.count(DataImport.id))) == 0
    assert stored_files(staff_client) == []


def test_a_text_with_a_stray_control_character_is_still_read(staff_client, users):
    """One odd character in a large file is the cell's problem (it fails that row), not a
    reason to call the whole file binary."""
    rows = "".join(f"Partner {n},City\n" for n in range(200))
    data = ("English name,City\n" + rows + "Odd\x01name,City\n").encode()
    response = flow.upload(staff_client, "partner", data)
    assert response.status_code == 302


def test_an_xlsx_workbook_still_imports(staff_client, users):
    book = openpyxl.Workbook()
    book.active.append(["English name", "Chinese name"])
    book.active.append(["Acme Ltd", "阿克米"])
    buffer = io.BytesIO()
    book.save(buffer)
    imp = flow.full_import(staff_client, "partner", buffer.getvalue(), "partners.xlsx")
    assert imp.counts()["created"] == 1


# --- rows the form would refuse -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "header", "model", "label"),
    [
        ("partner", "English name,Chinese name\n", Partner, "English name"),
        ("contact", "Name,Chinese name\n", Contact, "Name"),
        ("agreement", "Title,Chinese title\n", Agreement, "Title"),
        ("project", "Name,Chinese name\n", Project, "Name"),
    ],
)
def test_a_new_row_without_the_name_its_form_requires_fails(
    staff_client, users, kind, header, model, label
):
    data = (header + ",台州湾新区\nWith a name,有名字\n").encode()
    response = flow.upload(staff_client, kind, data)
    assert response.status_code == 302
    imp = flow.last_import()
    flow.check(staff_client, imp.id)
    preview = staff_client.get(f"/imports/{imp.id}/preview?show=error").text
    assert f"{label}: This field is required." in preview
    flow.run(staff_client, imp.id)
    result = flow.outcomes(flow.last_import())
    assert result[2] == ("failed", f"{label}: This field is required.")
    assert result[3][0] == "created"
    assert db.session.scalar(select(func.count(model.id))) == 1


def test_the_reason_is_the_forms_own_in_chinese(staff_client, users):
    staff_client.post_form("/language", {"lang": "zh_Hans"})
    imp_response = flow.upload(staff_client, "partner", "中文名\n台州湾新区\n".encode())
    assert imp_response.status_code == 302
    imp = flow.last_import()
    flow.check(staff_client, imp.id, {"col-0": "name_zh"})
    flow.run(staff_client, imp.id)
    (outcome, reason) = flow.outcomes(flow.last_import())[2]
    assert outcome == "failed"
    assert "This field is required." not in reason and reason.startswith("英文名")


def test_a_row_found_by_its_chinese_name_still_updates(staff_client, users):
    make_partner("Taizhou Bay New Area", name_zh="台州湾新区")
    db.session.commit()
    data = "Chinese name,City\n台州湾新区,台州\n".encode()
    imp = flow.full_import(staff_client, "partner", data)
    assert flow.outcomes(imp)[2][0] == "updated"
    partner = db.session.scalar(select(Partner).where(Partner.name_zh == "台州湾新区"))
    assert partner.name_en == "Taizhou Bay New Area" and partner.city == "台州"


def test_a_row_chosen_to_be_created_although_it_matches_needs_the_name(staff_client, users):
    make_partner("Taizhou Bay New Area", name_zh="台州湾新区")
    db.session.commit()
    data = "Chinese name\n台州湾新区\n".encode()
    imp = flow.full_import(staff_client, "partner", data, match="create")
    assert flow.outcomes(imp)[2] == ("failed", "English name: This field is required.")
    assert db.session.scalar(select(func.count(Partner.id))) == 1


# --- hand-made page links -------------------------------------------------------------


@pytest.mark.parametrize("after", ["99999999999999999999", str(2**31), "-5", "x", "", "1e3"])
def test_hand_made_row_positions_give_the_first_page(staff_client, users, after):
    data = "English name\n" + "".join(f"Partner {n}\n" for n in range(3))
    imp = flow.full_import(staff_client, "partner", data.encode())
    for show in ("", "created"):
        response = staff_client.get(
            f"/imports/{imp.id}", query_string={"after": after, "show": show}
        )
        assert response.status_code == 200
        assert 'data-line="2"' in response.text
    response = flow.upload(staff_client, "partner", data.encode())
    pending = flow.last_import()
    flow.check(staff_client, pending.id)
    response = staff_client.get(f"/imports/{pending.id}/preview", query_string={"after": after})
    assert response.status_code == 200
    assert "Partner 0" in response.text


# --- discarding a pending import ------------------------------------------------------


def test_the_importer_discards_a_pending_import(staff_client, users):
    flow.upload(staff_client, "partner", b"English name\nAcme\n")
    imp = flow.last_import()
    flow.check(staff_client, imp.id)
    assert len(stored_files(staff_client)) == 2  # the upload and its rows file
    preview = staff_client.get(f"/imports/{imp.id}/preview").text
    assert f"/imports/{imp.id}/discard" in preview

    response = staff_client.post_form(f"/imports/{imp.id}/discard")
    assert response.status_code == 302
    imp = flow.last_import()
    assert imp.status == "discarded"
    assert stored_files(staff_client) == []
    assert db.session.scalar(select(func.count(DataImportRow.id))) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import_discard"))
    assert entry.record_id == imp.id and entry.user_id == users["staff"].id
    assert entry.changes["file"] == "rows.csv"
    # Its pages say so, and nothing can be run from it any more.
    page = staff_client.get(f"/imports/{imp.id}")
    assert page.status_code == 200 and 'id="discarded"' in page.text
    assert staff_client.get(f"/imports/{imp.id}/preview").status_code == 302
    staff_client.post_form(
        f"/imports/{imp.id}/run",
        {"new": "create", "match": "update", "several": "skip", "partners": "create"},
    )
    assert flow.last_import().status == "discarded"
    assert db.session.scalar(select(func.count(Partner.id))) == 0
    assert "Discarded" in staff_client.get("/imports/").text


def test_a_manager_discards_anyone_s_pending_import_and_others_may_not(app, users):
    staff = app.test_client().login_as(users["staff"])
    flow.upload(staff, "partner", b"English name\nAcme\n")
    imp = flow.last_import()
    other = make_user(role="staff")
    db.session.commit()
    outsider = app.test_client().login_as(other)
    assert outsider.post_form(f"/imports/{imp.id}/discard").status_code == 403
    assert flow.last_import().status == "mapping"
    manager = app.test_client().login_as(users["manager"])
    assert manager.post_form(f"/imports/{imp.id}/discard").status_code == 302
    assert flow.last_import().status == "discarded"


def test_a_finished_import_cannot_be_discarded(staff_client, users):
    imp = flow.full_import(staff_client, "partner", b"English name\nAcme\n")
    response = staff_client.post_form(f"/imports/{imp.id}/discard")
    assert response.status_code == 302
    assert flow.last_import().status == "done"
    assert len(stored_files(staff_client)) == 2  # the report still reads it
    assert staff_client.get(f"/imports/{imp.id}/report.csv").status_code == 200


def test_discard_needs_the_csrf_token(staff_client, users):
    flow.upload(staff_client, "partner", b"English name\nAcme\n")
    imp = flow.last_import()
    response = staff_client.post(f"/imports/{imp.id}/discard")
    assert response.status_code == 400
    assert flow.last_import().status == "mapping"
