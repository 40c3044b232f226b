"""A real browser walks an import: upload, columns, preview, run with the progress bar,
report, and the report's download."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.db import db
from tests.browser import conftest as browser
from tests.factories import make_partner

pytestmark = pytest.mark.browser

app = browser.app
chromium_executable = browser.chromium_executable
live_server = browser.live_server
browser_page = browser.browser_page
signed_in_page = browser.signed_in_page

ROWS = (
    "姓名,邮箱,单位,职务\n"
    + "".join(f"Person {i},person{i}@example.org,UKIIC,Analyst\n" for i in range(9))
    + "Broken,not-an-email,UKIIC,\n"
)


def test_upload_map_preview_run_and_report_in_the_browser(app, signed_in_page):
    page = signed_in_page
    app.config["IMPORT_CHUNK_ROWS"] = 3  # several chunks, so the bar really moves
    make_partner("UKIIC", name_zh="英国国际创新中心")
    db.session.commit()

    page.goto("/contacts/")
    page.locator("[data-import]").click()
    expect(page.locator("#kind")).to_have_value("contact")
    page.locator("#file").set_input_files(
        files=[{"name": "联系人.csv", "mimeType": "text/csv", "buffer": ROWS.encode("gb18030")}]
    )
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("heading", name="Which column holds what")).to_be_visible()
    expect(page.locator("#col-0")).to_have_value("name")
    expect(page.locator("#col-1")).to_have_value("email")
    expect(page.locator("#col-2")).to_have_value("organisation")
    expect(page.locator("#col-3")).to_have_value("title")
    page.get_by_role("button", name="Check the rows").click()

    page.wait_for_url("**/preview")
    expect(page.locator('[data-count="error"]')).to_contain_text("(1)")
    expect(page.locator('[data-count="new"]')).to_contain_text("(9)")
    expect(page.locator('tr[data-line="11"]')).to_contain_text(
        "“not-an-email” is not an email address."
    )

    bar_widths = []
    page.on(
        "response",
        lambda r: bar_widths.append(r.url) if r.url.endswith("/step") else None,
    )
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_url("**/imports/*")
    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    assert len(bar_widths) >= 4  # 10 rows, 3 per chunk: the page called for each chunk
    expect(page.locator('[data-outcome-count="created"]')).to_contain_text("(9)")
    expect(page.locator('[data-outcome-count="failed"]')).to_contain_text("(1)")
    expect(page.locator('tr[data-line="11"]')).to_contain_text("Email: “not-an-email”")

    with page.expect_download() as download_info:
        page.locator("#report-download").click()
    report = download_info.value.path().read_bytes().decode("utf-8-sig")
    assert "Failed,Email: “not-an-email” is not an email address." in report

    db.session.rollback()
    assert len(db.session.scalars(select(Contact)).all()) == 9
    assert page.log.console_errors == []
    assert page.log.foreign_requests == []
