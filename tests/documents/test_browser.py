"""A real browser uploads a document from a partner's page, sees a spoofed file refused at
the field, adds a version, and downloads the file under its Chinese name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.db import db
from crm.documents.models import DocumentVersion
from tests.browser import conftest as browser
from tests.documents import samples
from tests.factories import make_partner

pytestmark = pytest.mark.browser

app = browser.app
chromium_executable = browser.chromium_executable
live_server = browser.live_server
browser_page = browser.browser_page
signed_in_page = browser.signed_in_page


def test_upload_refusal_version_and_download_in_a_browser(app, signed_in_page, tmp_path):
    page = signed_in_page
    partner = make_partner("台州湾新区管理委员会")
    db.session.commit()
    partner_id = partner.id
    signed = tmp_path / "三方合作协议（签字版）.pdf"
    signed.write_bytes(samples.pdf())
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(samples.html())
    annex = tmp_path / "annex.docx"
    annex.write_bytes(samples.docx_bytes())

    page.goto(f"/partners/{partner_id}")
    form = page.locator("#document-upload")
    form.get_by_label("File").set_input_files(str(fake))
    form.get_by_label("Title").fill("Fake invoice")
    form.get_by_role("button", name="Upload").click()
    # Refused at the field, on the upload page, with the title kept.
    expect(page.locator('[data-field="file"]')).to_contain_text("not a PDF document")
    expect(page.get_by_label("Title")).to_have_value("Fake invoice")

    page.get_by_label("File").set_input_files(str(signed))
    page.get_by_label("Title").fill("Three-party agreement, signed")
    page.get_by_label("Kind of document").select_option("signed")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Document uploaded.")).to_be_visible()
    assert page.url.endswith(f"/partners/{partner_id}#documents")
    row = page.locator("#documents-live tr[data-document]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("三方合作协议（签字版）.pdf")

    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "三方合作协议（签字版）.pdf"
    assert Path(download.path()).read_bytes() == signed.read_bytes()

    row.get_by_role("link", name="Three-party agreement, signed").click()
    version_form = page.locator("#version-upload")
    version_form.get_by_label("New version").set_input_files(str(annex))
    version_form.get_by_label("What changed").fill("Annex added")
    version_form.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Version 2 saved")).to_be_visible()
    expect(page.locator("#document-versions tr[data-version]")).to_have_count(2)
    if os.environ.get("CRM_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["CRM_SCREENSHOTS"], "document.png"))
        page.goto(f"/partners/{partner_id}")
        page.locator("#documents").screenshot(
            path=os.path.join(os.environ["CRM_SCREENSHOTS"], "panel.png")
        )
    db.session.rollback()
    names = db.session.scalars(
        select(DocumentVersion.original_name).order_by(DocumentVersion.number)
    ).all()
    assert names == ["三方合作协议（签字版）.pdf", "annex.docx"]
    assert page.log.console_errors == []
    assert page.log.foreign_requests == []
