"""The merge pages: choosing the other record, the side-by-side form, review and back,
refusals; and the "Merge…" action on the detail pages."""

from __future__ import annotations

from sqlalchemy import select

from crm.contacts.models import Contact, ContactName
from crm.db import db
from crm.partners.models import Partner
from tests.factories import make_contact, make_partner


def test_merge_action_on_detail_pages_for_managers_only(staff_client, manager_client):
    partner = make_partner("UKIIC")
    contact = make_contact("Liu Xian")
    db.session.commit()
    assert 'id="merge-action"' not in staff_client.get(f"/partners/{partner.id}").text
    page = manager_client.get(f"/partners/{partner.id}").text
    assert f'href="/duplicates/merge/partner/{partner.id}"' in page
    page = manager_client.get(f"/contacts/{contact.id}").text
    assert f'href="/duplicates/merge/contact/{contact.id}"' in page
    assert staff_client.get(f"/duplicates/merge/partner/{partner.id}").status_code == 403


def test_pick_suggests_likely_duplicates_and_any_record(manager_client):
    ukiic = make_partner("UKIIC")
    accelerator = make_partner("UKIIC Accelerator")
    oxford = make_partner("Oxford International Education Group")
    db.session.commit()
    page = manager_client.get(f"/duplicates/merge/partner/{ukiic.id}").text
    assert f"/duplicates/merge/partner/{ukiic.id}/{accelerator.id}" in page
    assert "descriptive words" in page
    response = manager_client.get(
        f"/duplicates/merge/partner/{ukiic.id}", query_string={"other": str(oxford.id)}
    )
    assert response.headers["Location"] == f"/duplicates/merge/partner/{ukiic.id}/{oxford.id}"
    # A bad pick is a field error, not a 500.
    page = manager_client.get(
        f"/duplicates/merge/partner/{ukiic.id}", query_string={"other": "x'; drop"}
    )
    assert page.status_code == 200 and "Pick a record from the list." in page.text
    assert manager_client.get("/duplicates/merge/agreement/1/2").status_code == 404
    assert manager_client.get(f"/duplicates/merge/partner/{ukiic.id}/{ukiic.id}").status_code == 404


def test_review_then_back_keeps_the_choices_and_nothing_changes(manager_client):
    a = make_partner("Alpha Robotics", website="https://a.example", city="Ningbo")
    b = make_partner("Alpha Robotics Co., Ltd", website="https://b.example", city="Ningbo")
    db.session.commit()
    url = f"/duplicates/merge/partner/{a.id}/{b.id}"
    data = {
        "version_a": str(a.version_id),
        "version_b": str(b.version_id),
        "survivor": "a",
        "pick_website": "b",
    }
    review = manager_client.post_form(url, {**data, "step": "review"}).text
    assert "https://b.example" in review.split('id="merge-values"')[1].split("</dl>")[0]
    assert '<input type="hidden" name="pick_website" value="b">' in review
    back = manager_client.post_form(url, {**data, "step": "back"}).text
    assert 'name="pick_website" value="b" id="pick-website-b" checked' in back
    db.session.expire_all()
    assert db.session.get(Partner, b.id).merged_into_id is None


def test_bad_choices_and_stale_pages_are_refused_with_the_form(manager_client):
    a = make_partner("Alpha Robotics")
    b = make_partner("Alpha Robotics Co., Ltd")
    db.session.commit()
    url = f"/duplicates/merge/partner/{a.id}/{b.id}"
    base = {"version_a": str(a.version_id), "version_b": str(b.version_id), "survivor": "a"}
    page = manager_client.post_form(url, {**base, "pick_website": "<script>", "step": "confirm"})
    assert page.status_code == 200 and "Please correct the choices" in page.text
    page = manager_client.post_form(url, {**base, "survivor": "", "step": "confirm"})
    assert page.status_code == 200
    stale = {**base, "version_b": str(b.version_id - 1), "step": "confirm"}
    page = manager_client.post_form(url, stale)
    assert "changed one of these records" in page.text
    db.session.expire_all()
    assert db.session.get(Partner, b.id).archived_at is None


def test_archived_or_merged_records_cannot_be_merged_again(app, users, manager_client):
    a = make_partner("Alpha Robotics")
    b = make_partner("Alpha Robotics Co., Ltd")
    b.archive(users["manager"])
    db.session.commit()
    url = f"/duplicates/merge/partner/{a.id}/{b.id}"
    data = {"version_a": str(a.version_id), "version_b": str(b.version_id), "survivor": "a"}
    page = manager_client.post_form(url, {**data, "step": "confirm"}).text
    assert "is archived: restore it first" in page


def test_contact_other_names_on_the_form(staff_client):
    response = staff_client.post_form(
        "/contacts/new",
        {
            "name": "Liu Xian",
            "owner": "0",
            "other_names-0-name": "刘贤",
            "other_names-0-kind": "translation",
            "other_names-1-name": "刘贤",
            "other_names-1-kind": "alias",
        },
    )
    assert response.status_code == 200
    assert "The same other name is listed twice." in response.text
    assert db.session.scalar(select(Contact)) is None
    response = staff_client.post_form(
        "/contacts/new",
        {
            "name": "Liu Xian",
            "owner": "0",
            "other_names-0-name": "刘贤",
            "other_names-0-kind": "translation",
        },
    )
    assert response.status_code == 302
    contact = db.session.scalar(select(Contact))
    assert [(n.name, n.kind) for n in db.session.scalars(select(ContactName))] == [
        ("刘贤", "translation")
    ]
    assert "liu xian" in contact.search_text and "刘贤" in contact.search_text
    page = staff_client.get(f"/contacts/{contact.id}").text
    assert "刘贤" in page and "Other names" in page


def test_picking_the_record_itself_is_a_field_error(manager_client):
    # Found in review: choosing the record itself redirected to a merge of it with itself,
    # which answered 404 ("no such page") instead of saying what was wrong.
    ukiic = make_partner("UKIIC")
    db.session.commit()
    response = manager_client.get(
        f"/duplicates/merge/partner/{ukiic.id}",
        query_string={"other": str(ukiic.id), "other__label": "UKIIC"},
    )
    assert response.status_code == 200
    assert "Choose another record than this one." in response.text
    assert 'value="UKIIC"' in response.text
