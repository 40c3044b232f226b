"""Uploading, listing, versioning, archiving and downloading documents through the pages."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import event, select

from crm.audit.models import AuditEntry
from crm.db import db
from crm.documents.models import Document, DocumentVersion
from tests.documents import samples
from tests.documents.conftest import (
    GENERATED,
    fetch,
    field_errors,
    new_version,
    only_document,
    row_counts,
    stored_files,
    upload,
    upload_in_memory,
)
from tests.querycount import count_statements

KINDS = ("partner", "contact", "agreement", "project")
PAGES = {
    "partner": "/partners/{}",
    "contact": "/contacts/{}",
    "agreement": "/agreements/{}",
    "project": "/projects/{}",
}


@pytest.mark.parametrize("kind", KINDS)
def test_upload_from_a_record_page_stores_a_generated_name_and_lists_it(
    app, staff_client, records, kind
):
    record = records[kind]
    page = staff_client.get(PAGES[kind].format(record.id)).get_data(as_text=True)
    # The form on the record's page: multipart, CSRF token, posting to the upload route.
    assert 'enctype="multipart/form-data"' in page
    assert f'action="/documents/new/{kind}/{record.id}"' in page
    assert 'name="csrf_token"' in page

    content = samples.pdf()
    response = upload(
        staff_client, kind, record.id, content, "三方合作协议.pdf", title="", kind="signed"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == PAGES[kind].format(record.id) + "#documents"

    document = only_document()
    assert getattr(document, f"{kind}_id") == record.id
    assert document.title == "三方合作协议"  # the file name without extension, when left empty
    assert document.kind == "signed"
    (version,) = db.session.scalars(select(DocumentVersion)).all()
    assert (version.number, version.original_name) == (1, "三方合作协议.pdf")
    assert version.content_type == "application/pdf"
    assert version.size == len(content)
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert GENERATED.match(version.stored_name)
    (stored,) = stored_files(app)
    assert stored.relative_to(Path(app.instance_path) / "documents").as_posix() == (
        version.stored_name
    )
    assert stored.read_bytes() == content
    assert stored.stat().st_mode & 0o077 == 0  # readable by the app's user only

    page = staff_client.get(PAGES[kind].format(record.id)).get_data(as_text=True)
    assert "三方合作协议" in page
    assert f'href="/documents/files/{version.id}"' in page


def test_documents_are_stored_under_the_configured_path(make_app, tmp_path, users, records):
    elsewhere = tmp_path / "vault"
    app = make_app(DOCUMENTS_PATH=str(elsewhere))
    client = app.test_client().login_as(users["staff"])
    assert (
        upload(client, "partner", records["partner"].id, samples.png(), "a.png").status_code == 302
    )
    files = [p for p in elsewhere.rglob("*") if p.is_file()]
    assert len(files) == 1 and GENERATED.match(files[0].relative_to(elsewhere).as_posix())
    assert stored_files(app) == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/x.pdf", "x.pdf"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("/var/www/static/shell.pdf", "shell.pdf"),
        ("..\\..\\合同.pdf", "合同.pdf"),
    ],
)
def test_a_path_in_the_name_keeps_only_a_safe_base_name(app, staff_client, records, sent, kept):
    response = upload(staff_client, "partner", records["partner"].id, samples.pdf(), sent)
    assert response.status_code == 302
    version = db.session.scalars(select(DocumentVersion)).one()
    assert version.original_name == kept
    (stored,) = stored_files(app)
    assert stored.is_relative_to(Path(app.instance_path) / "documents")
    assert kept not in str(stored) and "etc" not in stored.parts


def assert_nothing_saved(app):
    assert row_counts() == (0, 0)
    assert stored_files(app) == []
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "document")) is None


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("setup.pdf", samples.exe, "is not a PDF document"),
        ("page.pdf", samples.html, "web page or other markup, not a PDF document"),
        ("contract.docx", samples.plain_zip, "is not a Word document"),
        ("contract.docx", samples.docm, "macros are not accepted"),
        ("scan.pdf", samples.png, "Rename it to .png"),
        ("../../etc/passwd", samples.pdf, "needs an extension"),
        ("tool.exe", samples.exe, "Files ending in .exe are not accepted"),
    ],
)
def test_a_spoofed_or_unlisted_type_is_refused_at_the_field(
    app, staff_client, records, name, make, message
):
    response = upload(
        staff_client, "partner", records["partner"].id, make(), name, title="Kept title"
    )
    assert response.status_code == 200
    errors = field_errors(response)
    assert len(errors) == 1 and message in errors[0]
    assert 'value="Kept title"' in response.get_data(as_text=True)  # the input is kept
    assert_nothing_saved(app)


def test_an_empty_file_and_no_file_are_refused(app, staff_client, records):
    partner_id = records["partner"].id
    response = upload(staff_client, "partner", partner_id, b"", "empty.pdf")
    assert field_errors(response) == ["The file is empty."]
    response = upload(staff_client, "partner", partner_id, None, title="No file")
    assert field_errors(response) == ["Choose a file to upload."]
    assert 'value="No file"' in response.get_data(as_text=True)
    assert_nothing_saved(app)


def test_a_file_over_the_limit_gets_a_field_error(make_app, users, records):
    app = make_app(DOCUMENT_MAX_BYTES=1000)
    client = app.test_client().login_as(users["staff"])
    response = upload(client, "partner", records["partner"].id, b"x" * 1001, "big.txt")
    assert response.status_code == 200
    assert field_errors(response) == ["The file is larger than 1,000 bytes."]
    assert_nothing_saved(app)
    assert (
        upload(client, "partner", records["partner"].id, b"x" * 1000, "ok.txt").status_code == 302
    )


def test_an_oversized_body_gets_the_413_page(make_app, users, records):
    app = make_app(DOCUMENT_MAX_BYTES=1000, MAX_CONTENT_LENGTH=2000)
    client = app.test_client().login_as(users["staff"])
    response = upload_in_memory(
        client, "partner", records["partner"].id, b"x" * (2 * 1024 * 1024), "a.txt"
    )
    assert response.status_code == 413
    assert "The upload is too large" in response.get_data(as_text=True)
    assert '<nav class="navbar' in response.get_data(as_text=True)  # in the layout
    assert_nothing_saved(app)


def test_default_limits_25_mib_per_file_above_the_16_mib_body_limit_elsewhere(
    app, staff_client, records
):
    partner_id = records["partner"].id
    mib = 1024 * 1024
    # 20 MiB: over the app-wide 16 MiB body limit, under the documents' 25 MiB.
    response = upload_in_memory(staff_client, "partner", partner_id, b"a" * (20 * mib), "b.txt")
    assert response.status_code == 302
    # One byte over 25 MiB: the body still fits, so the field says what the limit is.
    response = upload_in_memory(staff_client, "partner", partner_id, b"a" * (25 * mib + 1), "b.txt")
    assert field_errors(response) == ["The file is larger than 25 MB."]
    # Far over: the body is refused before it is read, with the friendly page.
    response = upload_in_memory(staff_client, "partner", partner_id, b"a" * (27 * mib), "b.txt")
    assert response.status_code == 413
    assert row_counts() == (1, 1)
    assert len(stored_files(app)) == 1
    # Other routes keep the app-wide limit.
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * mib


def test_a_failed_commit_leaves_no_file_and_no_row(make_app, users, records):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client().login_as(users["staff"])

    def fail(session):
        if any(isinstance(o, DocumentVersion) for o in session.new):
            raise RuntimeError("the database went away")

    from sqlalchemy.orm import Session

    event.listen(Session, "before_flush", fail)
    try:
        response = upload(client, "partner", records["partner"].id, samples.pdf(), "a.pdf")
    finally:
        event.remove(Session, "before_flush", fail)
    assert response.status_code == 500
    assert_nothing_saved(app)


def test_a_failure_after_the_file_is_in_place_removes_it(make_app, users, records):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client().login_as(users["staff"])
    seen = []
    adding = []

    def note(session, _context, _instances):
        # The identity map holds objects weakly: remember the new document at flush time.
        adding.extend(o for o in session.new if isinstance(o, Document))

    def fail(session):
        # By commit time the file has its final name: it must go when the commit fails.
        seen.extend(stored_files(app))
        if adding:
            raise RuntimeError("commit refused")

    from sqlalchemy.orm import Session

    event.listen(Session, "before_flush", note)
    event.listen(Session, "before_commit", fail)
    try:
        response = upload(client, "partner", records["partner"].id, samples.pdf(), "a.pdf")
    finally:
        event.remove(Session, "before_commit", fail)
        event.remove(Session, "before_flush", note)
    assert response.status_code == 500
    assert len(seen) == 1 and GENERATED.match(seen[0].parent.name + "/" + seen[0].name)
    assert_nothing_saved(app)


def download_headers_ok(response, content_type):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "frame-ancestors 'none'" in csp
    assert "no-store" in response.headers["Cache-Control"]
    return response.headers["Content-Disposition"]


def test_download_is_an_attachment_with_an_rfc5987_name(app, staff_client, records):
    content = samples.pdf()
    upload(staff_client, "partner", records["partner"].id, content, "合作协议（签字版）.pdf")
    version = db.session.scalars(select(DocumentVersion)).one()
    response = fetch(staff_client, f"/documents/files/{version.id}")
    disposition = download_headers_ok(response, "application/pdf")
    assert disposition.startswith("attachment; ")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "合作协议（签字版）.pdf"
    assert 'filename="document.pdf"' in disposition  # an ASCII fallback for old clients
    assert response.data == content


def test_text_downloads_keep_their_stored_type_and_ascii_names_get_both_forms(
    app, staff_client, records
):
    upload(
        staff_client, "project", records["project"].id, samples.text(), "minutes; v1 (final).txt"
    )
    version = db.session.scalars(select(DocumentVersion)).one()
    assert version.original_name == "minutes; v1 (final).txt"
    response = fetch(staff_client, f"/documents/files/{version.id}")
    disposition = download_headers_ok(response, "text/plain; charset=utf-8")
    assert disposition == (
        'attachment; filename="minutes_ v1 (final).txt"; '
        "filename*=UTF-8''minutes%3B%20v1%20%28final%29.txt"
    )
    assert response.data == samples.text()


def test_download_checks_permission(app, users, records, client):
    staff, manager, admin = (
        app.test_client().login_as(users[r]) for r in ("staff", "manager", "admin")
    )
    upload(staff, "agreement", records["agreement"].id, samples.docx_bytes(), "annex.docx")
    version = db.session.scalars(select(DocumentVersion)).one()
    url = f"/documents/files/{version.id}"

    response = fetch(client, url)  # anonymous
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    for who in (staff, manager, admin):
        assert fetch(who, url).status_code == 200
    assert staff.get("/documents/files/999999").status_code == 404

    document = only_document()
    assert manager.post_form(f"/documents/{document.id}/archive").status_code == 302
    assert fetch(staff, url).status_code == 403
    assert staff.get(f"/documents/{document.id}").status_code == 200  # the page, not the file
    assert fetch(manager, url).status_code == 200
    assert fetch(admin, url).status_code == 200
    assert manager.post_form(f"/documents/{document.id}/restore").status_code == 302
    assert fetch(staff, url).status_code == 200


def test_documents_are_archived_and_restored_with_their_record(app, users, records):
    staff = app.test_client().login_as(users["staff"])
    manager = app.test_client().login_as(users["manager"])
    partner = records["partner"]
    upload(staff, "partner", partner.id, samples.pdf(), "signed.pdf")
    version = db.session.scalars(select(DocumentVersion)).one()
    url = f"/documents/files/{version.id}"

    assert manager.post_form(f"/partners/{partner.id}/archive").status_code == 302
    assert fetch(staff, url).status_code == 403
    assert fetch(manager, url).status_code == 200
    page = staff.get(f"/partners/{partner.id}").get_data(as_text=True)
    assert "Archived with this record" in page
    assert f'href="{url}"' not in page
    assert 'id="document-upload"' not in page  # no uploads to an archived record
    doc_page = staff.get(f"/documents/{version.document_id}").get_data(as_text=True)
    assert "archived with its record" in doc_page
    # Uploads and new versions to an archived record are refused, nothing saved.
    response = upload(staff, "partner", partner.id, samples.pdf(), "late.pdf")
    assert "This record is archived" in field_errors(response)[0]
    response = new_version(staff, version.document_id, samples.pdf(), "v2.pdf")
    assert "This record is archived" in field_errors(response)[0]
    assert row_counts() == (1, 1) and len(stored_files(app)) == 1

    assert manager.post_form(f"/partners/{partner.id}/restore").status_code == 302
    assert fetch(staff, url).status_code == 200
    assert f'href="{url}"' in staff.get(f"/partners/{partner.id}").get_data(as_text=True)


def test_a_document_archived_on_its_own_stays_archived_when_its_record_is_restored(
    app, users, records
):
    staff = app.test_client().login_as(users["staff"])
    manager = app.test_client().login_as(users["manager"])
    project = records["project"]
    upload(staff, "project", project.id, samples.pdf(), "old.pdf")
    document = only_document()
    manager.post_form(f"/documents/{document.id}/archive")
    manager.post_form(f"/projects/{project.id}/archive")
    manager.post_form(f"/projects/{project.id}/restore")
    assert only_document().archived_at is not None
    page = staff.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'id="documents-archived"' in page and "1 archived document" in page


def test_who_may_archive_and_restore_a_document(app, users, records):
    uploader = app.test_client().login_as(users["staff"])
    from tests.factories import make_user

    other = app.test_client().login_as(make_user("staff"))
    db.session.commit()
    manager = app.test_client().login_as(users["manager"])
    upload(uploader, "contact", records["contact"].id, samples.jpeg(), "photo.jpg")
    document = only_document()
    assert other.post_form(f"/documents/{document.id}/archive").status_code == 403
    assert only_document().archived_at is None
    assert uploader.post_form(f"/documents/{document.id}/archive").status_code == 302
    assert only_document().archived_at is not None
    assert uploader.post_form(f"/documents/{document.id}/restore").status_code == 403
    assert manager.post_form(f"/documents/{document.id}/restore").status_code == 302
    assert only_document().archived_at is None
    response = uploader.post(f"/documents/{document.id}/archive")  # no CSRF token
    assert response.status_code == 400 and only_document().archived_at is None


def test_a_new_version_keeps_the_old_ones(app, staff_client, records):
    partner_id = records["partner"].id
    first, second = samples.pdf(), samples.docx_bytes("第二版 second version")
    upload(staff_client, "partner", partner_id, first, "draft.pdf", title="Cooperation")
    document = only_document()
    response = new_version(staff_client, document.id, second, "signed.docx", note="Signed copy")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/documents/{document.id}"

    document = only_document()
    assert document.current_number == 2 and document.title == "Cooperation"
    versions = db.session.scalars(select(DocumentVersion).order_by(DocumentVersion.number)).all()
    assert [(v.number, v.original_name, v.note) for v in versions] == [
        (1, "draft.pdf", None),
        (2, "signed.docx", "Signed copy"),
    ]
    assert len({v.stored_name for v in versions}) == 2 and len(stored_files(app)) == 2
    for version, content in zip(versions, (first, second), strict=True):
        assert fetch(staff_client, f"/documents/files/{version.id}").data == content

    detail = staff_client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert 'data-version="2"' in detail and 'data-version="1"' in detail
    assert f'href="/documents/files/{versions[0].id}"' in detail
    record_page = staff_client.get(f"/partners/{partner_id}").get_data(as_text=True)
    assert f'href="/documents/files/{versions[1].id}"' in record_page  # the newest
    assert f'href="/documents/files/{versions[0].id}"' not in record_page


def test_a_refused_new_version_changes_nothing(app, staff_client, records):
    upload(staff_client, "partner", records["partner"].id, samples.pdf(), "a.pdf")
    document = only_document()
    response = new_version(staff_client, document.id, samples.html(), "b.pdf", note="kept")
    assert response.status_code == 200
    assert "not a PDF document" in field_errors(response)[0]
    assert 'value="kept"' in response.get_data(as_text=True)
    response = new_version(staff_client, document.id, None)
    assert field_errors(response) == ["Choose a file to upload."]
    assert only_document().current_number == 1
    assert row_counts() == (1, 1) and len(stored_files(app)) == 1


def test_an_archived_document_takes_no_new_version(app, users, records):
    manager = app.test_client().login_as(users["manager"])
    upload(manager, "partner", records["partner"].id, samples.pdf(), "a.pdf")
    document = only_document()
    manager.post_form(f"/documents/{document.id}/archive")
    response = new_version(manager, document.id, samples.pdf(), "b.pdf")
    assert "This document is archived" in field_errors(response)[0]
    assert row_counts() == (1, 1) and len(stored_files(app)) == 1


def test_the_audit_trail_records_upload_version_archive_restore(app, users, records):
    staff = app.test_client().login_as(users["staff"])
    manager = app.test_client().login_as(users["manager"])
    upload(staff, "agreement", records["agreement"].id, samples.pdf(), "signed.pdf", title="Signed")
    document = only_document()
    new_version(staff, document.id, samples.pdf(), "signed-v2.pdf")
    manager.post_form(f"/documents/{document.id}/archive")
    manager.post_form(f"/documents/{document.id}/restore")
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.record_type == "document", AuditEntry.record_id == document.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.user_id) for e in entries] == [
        ("create", users["staff"].id),
        ("update", users["staff"].id),
        ("archive", users["manager"].id),
        ("restore", users["manager"].id),
    ]
    created = entries[0].changes
    assert created["title"] == [None, "Signed"]
    assert created["agreement_id"][1]["label"] == "Three-party agreement"
    (first,) = created["versions"]["added"]
    assert first.startswith("v1: signed.pdf (SHA-256 ")
    (second,) = entries[1].changes["versions"]["added"]
    assert second.startswith("v2: signed-v2.pdf")
    # Both read well on the document's page and in the admins' log.
    page = staff.get(f"/documents/{document.id}").get_data(as_text=True)
    assert page.count("signed-v2.pdf") >= 2  # in the versions table and the history
    admin = app.test_client().login_as(users["admin"])
    log = admin.get("/admin/audit", query_string={"kind": "document"})
    assert log.status_code == 200
    assert f'href="/documents/{document.id}"' in log.get_data(as_text=True)


def test_editing_details_checks_the_version(app, staff_client, records):
    upload(staff_client, "partner", records["partner"].id, samples.pdf(), "a.pdf")
    document = only_document()
    form = {
        "title": "Framework agreement",
        "kind": "annex",
        "description": "签字版",
        "version": "1",
    }
    response = staff_client.post_form(f"/documents/{document.id}/edit", form)
    assert response.status_code == 302
    document = only_document()
    assert (document.title, document.kind, document.description) == (
        "Framework agreement",
        "annex",
        "签字版",
    )
    stale = staff_client.post_form(f"/documents/{document.id}/edit", {**form, "title": "Old"})
    assert "Someone else saved" in stale.get_data(as_text=True)
    assert only_document().title == "Framework agreement"
    empty = staff_client.post_form(
        f"/documents/{document.id}/edit", {**form, "title": "", "version": "2"}
    )
    assert field_errors(empty, "title")
    bad_kind = staff_client.post_form(
        f"/documents/{document.id}/edit", {**form, "kind": "bogus", "version": "2"}
    )
    assert field_errors(bad_kind, "kind") and only_document().kind == "annex"


@pytest.mark.parametrize("kind", KINDS)
def test_record_pages_send_a_fixed_number_of_statements(app, users, records, kind):
    from tests.factories import make_user

    uploaders = [app.test_client().login_as(users["staff"])]
    uploaders += [app.test_client().login_as(make_user("staff")) for _ in range(3)]
    db.session.commit()
    makers = {
        "partner": lambda: __import__("tests.factories").factories.make_partner(),
        "contact": lambda: __import__("tests.factories").factories.make_contact(),
        "agreement": lambda: __import__("tests.factories").factories.make_agreement(),
        "project": lambda: __import__("tests.factories").factories.make_project(),
    }
    small, big = records[kind], makers[kind]()
    db.session.commit()
    upload(uploaders[0], kind, small.id, samples.pdf(), "one.pdf")
    for n in range(12):
        upload(uploaders[n % 4], kind, big.id, samples.png(), f"scan-{n}.png")
    first = db.session.scalars(
        select(Document).where(getattr(Document, f"{kind}_id") == big.id)
    ).first()
    new_version(uploaders[1], first.id, samples.png(), "again.png")
    manager = app.test_client().login_as(users["manager"])
    manager.post_form(f"/documents/{first.id}/archive")
    client = uploaders[0]
    client.get("/")
    counted = []
    for record in (small, big):
        with count_statements(app) as log:
            response = client.get(PAGES[kind].format(record.id))
        assert response.status_code == 200
        counted.append(log.count)
    assert counted[0] == counted[1], counted
    page = response.get_data(as_text=True)
    assert page.count("data-document=") == 12
    first_id = first.id
    with count_statements(app) as log:
        assert client.get(f"/documents/{first_id}").status_code == 200
    detail_count, detail_log = log.count, log
    other = only_first_of(small, kind).id
    with count_statements(app) as log:
        assert client.get(f"/documents/{other}").status_code == 200
    assert log.count == detail_count, (detail_log, log)


def only_first_of(record, kind):
    return db.session.scalars(
        select(Document).where(getattr(Document, f"{kind}_id") == record.id)
    ).one()


def test_two_new_versions_at_once_get_consecutive_numbers(app, users, records):
    """The document is locked while a version is added: neither upload fails or is lost."""
    import threading
    import time

    from sqlalchemy.orm import Session

    staff = app.test_client().login_as(users["staff"])
    upload(staff, "partner", records["partner"].id, samples.pdf(), "v1.pdf")
    document_id = only_document().id

    def slow_flush(session, _context, _instances):
        # Widen the window between reading the current number and writing the next one.
        if any(isinstance(o, DocumentVersion) for o in session.new):
            time.sleep(0.3)

    clients = [app.test_client().login_as(users[r]) for r in ("staff", "manager")]
    db.session.commit()  # the test holds no lock while the two requests run
    statuses = []

    def send(client, name):
        statuses.append(new_version(client, document_id, samples.png(), name).status_code)

    event.listen(Session, "before_flush", slow_flush)
    try:
        threads = [
            threading.Thread(target=send, args=(c, f"v{n}.png"))
            for n, c in enumerate(clients, start=2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(Session, "before_flush", slow_flush)
    assert statuses == [302, 302]
    numbers = db.session.scalars(
        select(DocumentVersion.number).order_by(DocumentVersion.number)
    ).all()
    assert numbers == [1, 2, 3]
    assert only_document().current_number == 3
    assert len(stored_files(app)) == 3
