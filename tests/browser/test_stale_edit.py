"""Two browser pages edit the same record: the later save comes back merged, nothing lost."""

import pytest
from playwright.sync_api import expect

from crm.agreements.models import Agreement
from crm.db import db
from crm.partners.models import Partner
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
    # Both changed the place: theirs is shown beside mine, with a box to take it.
    expect(page.locator('[data-conflict="signed_at"]')).to_contain_text("They saved: Oxford")
    db.session.rollback()  # a new transaction sees what the served app committed
    assert db.session.get(Agreement, agreement_id).signed_at == "Oxford"

    # Having seen their change, a second deliberate save wins.
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Agreement saved.")).to_be_visible()
    db.session.rollback()
    assert db.session.get(Agreement, agreement_id).signed_at == "Taizhou Hall"
    assert page.log.console_errors == []


def test_a_second_save_after_a_stale_one_keeps_their_change(app, signed_in_page):
    """A opens a partner; B changes the website and saves; A changes the description and
    saves: refused, and the form comes back with B's website; A saves again: both kept."""
    page = signed_in_page
    partner = make_partner("Taizhou Bureau", website="https://old.example")
    db.session.commit()
    partner_id = partner.id
    other = page.context.new_page()
    page.goto(f"/partners/{partner_id}/edit")
    other.goto(f"/partners/{partner_id}/edit")

    other.get_by_label("Website").fill("https://new.example")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_text("Partner saved.")).to_be_visible()

    page.get_by_label("Description").fill("Runs the talent programme.\nTwo offices.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Someone else saved this record")).to_be_visible()
    expect(page.locator("#merge-summary")).to_contain_text("Website")
    expect(page.get_by_label("Website")).to_have_value("https://new.example")
    expect(page.locator("[data-conflict]")).to_have_count(0)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Partner saved.")).to_be_visible()
    db.session.rollback()
    saved = db.session.get(Partner, partner_id)
    assert saved.website == "https://new.example"
    assert saved.description == "Runs the talent programme.\nTwo offices."
    assert page.log.console_errors == []
