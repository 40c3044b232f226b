"""Two browser pages edit the same agreement: the later save is refused, nothing lost."""

import pytest
from playwright.sync_api import expect

from crm.agreements.models import Agreement
from crm.db import db
from tests.factories import make_agreement, make_partner

pytestmark = pytest.mark.browser


def test_two_pages_editing_the_same_agreement(app, signed_in_page):
    page = signed_in_page
    taizhou, oxford = make_partner("Taizhou"), make_partner("Oxford International")
    agreement = make_agreement(
        "Taizhou-Oxford International partnership",
        parties=[(taizhou, "party"), (oxford, "party")],
        stage="negotiation",
    )
    db.session.commit()
    agreement_id = agreement.id
    other = page.context.new_page()
    page.goto(f"/agreements/{agreement_id}/edit")
    other.goto(f"/agreements/{agreement_id}/edit")

    other.get_by_label("Signed at (place)").fill("Oxford")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_text("Agreement saved.")).to_be_visible()

    page.get_by_label("Signed at (place)").fill("Taizhou Hall")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Someone else saved this record")).to_be_visible()
    expect(page.locator("#newer-changes")).to_contain_text("Oxford")
    expect(page.get_by_label("Signed at (place)")).to_have_value("Taizhou Hall")
    db.session.rollback()  # a new transaction sees what the served app committed
    assert db.session.get(Agreement, agreement_id).signed_at == "Oxford"

    # Having seen their change, a second deliberate save wins.
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Agreement saved.")).to_be_visible()
    db.session.rollback()
    assert db.session.get(Agreement, agreement_id).signed_at == "Taizhou Hall"
    assert page.log.console_errors == []
