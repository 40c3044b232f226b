"""A real browser fills in the project form: rows added with the buttons, partners picked,
indicators and actuals entered, all saved at once."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.db import db
from crm.projects.models import Project
from tests.browser import conftest as browser
from tests.factories import indicator_kinds, make_agreement, make_partner

pytestmark = pytest.mark.browser

# The real-browser fixtures live with the browser tests; this module uses them as they are.
app = browser.app
chromium_executable = browser.chromium_executable
live_server = browser.live_server
browser_page = browser.browser_page
signed_in_page = browser.signed_in_page


def test_create_a_project_with_rows_added_in_the_browser(app, signed_in_page):
    page = signed_in_page
    kinds = indicator_kinds()
    committee = make_partner("Management Committee of Taizhou Bay New Area", kind="government")
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心", kind="accelerator")
    make_partner("Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd")
    agreement = make_agreement(
        "Taizhou Bay cooperation agreement", parties=[(committee, "host"), (ukiic, "operator")]
    )
    db.session.commit()

    page.goto(f"/projects/new?agreement={agreement.id}")
    # Started from the agreement: its parties are already there, in project roles.
    expect(page.locator("#partners-0-partner__label")).to_have_value(committee.name_en)
    expect(page.locator("#partners-1-role")).to_have_value("lead")

    page.get_by_label("Name", exact=True).fill("Taizhou Bay China-UK Innovation Center")
    page.get_by_label("Chinese name").fill("台州湾中英创新中心")
    page.get_by_label("Start").fill("2021-05-17")
    page.get_by_role("button", name="Add a partner").click()
    browser.pick(page, "partners-2-partner", "ekoo")
    page.locator("#partners-2-role").select_option("participant")

    page.locator("#milestones-0-title").fill("Cooperation agreement signed")
    page.locator("#milestones-0-due_on").fill("2021-05-17")
    page.get_by_role("button", name="Add a milestone").click()
    page.locator("#milestones-1-title").fill("Centre opens")

    page.locator("#indicators-0-kind_id").select_option(str(kinds["talents"].id))
    page.locator("#indicators-0-target").fill("100")
    page.get_by_role("button", name="Add an indicator").click()
    page.locator("#indicators-1-kind_id").select_option(str(kinds["investment"].id))
    page.locator("#indicators-1-target").fill("50000000")
    page.locator("#indicators-1-currency").select_option("CNY")

    page.locator("#actuals-0-kind_id").select_option(str(kinds["talents"].id))
    page.locator("#actuals-0-period").fill("2021")
    page.locator("#actuals-0-value").fill("12")
    page.get_by_role("button", name="Add an actual").click()
    page.locator("#actuals-1-kind_id").select_option(str(kinds["investment"].id))
    page.locator("#actuals-1-period").fill("2021-Q4")
    page.locator("#actuals-1-value").fill("8000000")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Project saved.")).to_be_visible()
    talents = page.locator('[data-indicator="talents"]')
    expect(talents.locator("[data-actual]")).to_have_text("12 people")
    expect(page.locator('[data-indicator="investment"] [data-target]')).to_have_text(
        "50,000,000.00 CNY"
    )
    expect(page.locator("#project-partners")).to_contain_text("Sino-British Ekoo")

    db.session.rollback()  # a new transaction sees what the served app committed
    project = db.session.scalar(select(Project))
    assert [(p.partner.name_en, p.role) for p in project.partners][2][1] == "participant"
    assert len(project.milestones) == 2 and len(project.indicators) == 2
    assert page.log.console_errors == []
    assert page.log.foreign_requests == []
