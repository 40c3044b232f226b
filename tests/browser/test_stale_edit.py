"""Two browser pages edit the same record: the later save is refused, nothing lost."""

import pytest
from playwright.sync_api import expect

from crm.db import db
from crm.partners.models import Partner
from tests.factories import make_partner

pytestmark = pytest.mark.browser


def test_two_pages_editing_the_same_partner(app, signed_in_page):
    page = signed_in_page
    partner = make_partner("Oxford International Education Group", kind="education")
    db.session.commit()
    other = page.context.new_page()
    page.goto(f"/partners/{partner.id}/edit")
    other.goto(f"/partners/{partner.id}/edit")

    other.get_by_label("City or region").fill("Oxford")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_text("Partner saved.")).to_be_visible()

    page.get_by_label("City or region").fill("London")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Someone else saved this record")).to_be_visible()
    expect(page.locator("#newer-changes")).to_contain_text("Oxford")
    expect(page.get_by_label("City or region")).to_have_value("London")
    db.session.rollback()  # a new transaction sees what the served app committed
    assert db.session.get(Partner, partner.id).city == "Oxford"

    # Having seen their change, a second deliberate save wins.
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Partner saved.")).to_be_visible()
    db.session.rollback()  # a new transaction sees what the served app committed
    assert db.session.get(Partner, partner.id).city == "London"
    assert page.log.console_errors == []
