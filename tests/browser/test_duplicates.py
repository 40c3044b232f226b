"""In a real browser: the duplicate guard while typing and on save, and a merge of the
article's two Ekoo records through the pages, landing on the survivor with every link."""

import pytest
from playwright.sync_api import expect

from crm.db import db
from tests.duplicates.links import snapshot
from tests.duplicates.story import ARTS_LIBRARY, split_ekoo_story
from tests.duplicates.test_merge import assert_nothing_lost_nothing_doubled

pytestmark = pytest.mark.browser


def test_guard_shows_look_alikes_while_typing_and_saving_anyway_takes_one_click(
    signed_in_page,
):
    from tests.factories import make_partner

    existing = make_partner(
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        name_zh="中英艺库（深圳）网络科技有限公司",
        city="Shenzhen",
    )
    db.session.commit()
    page = signed_in_page
    page.goto("/partners/new")
    page.get_by_label("English name").fill(ARTS_LIBRARY)
    live = page.locator("#duplicate-live")
    expect(live).to_contain_text("Records like this one already exist:")
    expect(live.locator(f'a[href="/partners/{existing.id}"]')).to_be_visible()
    page.get_by_label("City or region").fill("Shenzhen")
    page.get_by_role("button", name="Save", exact=True).click()
    guard = page.locator("#duplicate-guard")
    expect(guard).to_contain_text("Nothing is saved yet")
    expect(guard.locator(f'a[href="/partners/{existing.id}"]')).to_be_visible()
    expect(page.get_by_label("English name")).to_have_value(ARTS_LIBRARY)
    page.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_text("Partner saved.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("arts library")
    assert page.log.console_errors == [] and page.log.foreign_requests == []


def test_merge_two_partners_through_the_pages(app, signed_in_page):
    story = split_ekoo_story(signed_in_page.user)
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    ekoo_id, twin_id = ekoo.id, twin.id
    before = snapshot("partner", ekoo_id, twin_id)
    db.session.commit()

    page = signed_in_page
    page.goto("/duplicates/")
    row = page.locator(f'tr[data-pair]:has(a[href="/partners/{twin_id}"])')
    expect(row).to_contain_text("Ekoo")
    row.get_by_role("link", name="Merge…").click()

    # Keep the first record; its untouched fields follow it (its status, not the other's).
    page.locator("#survivor-a").check()
    expect(page.locator("#pick-status-a")).to_be_checked()
    # ... but take the other record's website.
    page.locator("#pick-website-b").check()
    page.get_by_role("button", name="Review the merge").click()
    expect(page.locator("#merge-summary")).to_contain_text("will be merged into")
    expect(page.locator("#merge-names")).to_contain_text(ARTS_LIBRARY)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Confirm merge").click()

    page.wait_for_url(f"**/partners/{ekoo_id}")
    expect(page.get_by_text("Merged:")).to_be_visible()
    expect(page.locator("#partner-agreements")).to_contain_text("Sino-British Innovation Center")
    expect(page.locator("#partner-agreements")).to_contain_text("Zhang Min")
    expect(page.locator("#partner-people")).to_contain_text("Zhang Min")
    expect(page.locator("#partner-projects")).to_contain_text("Funder")
    expect(page.locator("#partner-children")).to_contain_text("Ekoo Taizhou Office")
    expect(page.get_by_role("link", name="https://ekoo.example")).to_be_visible()
    expect(page.locator("dl").get_by_text(ARTS_LIBRARY)).to_be_visible()
    # The timeline shows the merge as one change.
    expect(page.get_by_text("Merged from", exact=False).first).to_be_visible()

    # The old record's address leads to the survivor.
    page.goto(f"/partners/{twin_id}")
    page.wait_for_url(f"**/partners/{ekoo_id}")
    expect(page.get_by_text("was merged into")).to_be_visible()
    assert page.log.console_errors == [] and page.log.foreign_requests == []

    db.session.expire_all()
    after = snapshot("partner", ekoo_id, twin_id)
    assert_nothing_lost_nothing_doubled("partner", before, after, ekoo_id, twin_id)
