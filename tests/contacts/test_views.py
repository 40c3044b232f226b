"""Contact pages: positions held at once and over time, validation, lists, archive."""

import re
from datetime import date

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from crm.contacts.models import Contact, Position
from crm.db import db
from tests.factories import make_agreement, make_contact, make_partner
from tests.querycount import count_statements


@pytest.fixture
def bodies():
    org = make_partner(
        "Taizhou Municipal Organization Department",
        name_zh="台州市委组织部",
        kind="government",
        country="CN",
    )
    office = make_partner("Taizhou Municipal Permanent Office", kind="government", country="CN")
    db.session.commit()
    return org, office


def lu_hongju(org, office, **extra):
    return {
        "name": "Lu Hongju",
        "name_zh": "卢红菊",
        "email": "Lu@Example.org",
        "owner": "0",
        "positions-0-partner": str(org.id),
        "positions-0-partner__label": org.name_en,
        "positions-0-title": "Vice Minister",
        "positions-0-start_date": "2020-01-01",
        "positions-1-partner": str(office.id),
        "positions-1-partner__label": office.name_en,
        "positions-1-title": "Director",
        **extra,
    }


def counts():
    return (
        db.session.scalar(select(func.count(Contact.id))),
        db.session.scalar(select(func.count(Position.id))),
    )


def test_two_posts_at_once(staff_client, bodies):
    org, office = bodies
    response = staff_client.post_form("/contacts/new", lu_hongju(org, office))
    assert response.status_code == 302, response.text
    contact = db.session.scalar(select(Contact))
    assert contact.email == "lu@example.org"
    assert [(p.partner_id, p.title) for p in contact.current_positions()] == [
        (org.id, "Vice Minister"),
        (office.id, "Director"),
    ]
    page = staff_client.get(response.headers["Location"]).text
    assert "Vice Minister" in page and "Taizhou Municipal Permanent Office" in page


def test_ending_a_position_keeps_it_in_history(staff_client, bodies):
    org, office = bodies
    staff_client.post_form("/contacts/new", lu_hongju(org, office))
    contact = db.session.scalar(select(Contact))
    data = lu_hongju(
        org,
        office,
        version=str(contact.version_id),
        **{
            "positions-0-id": str(contact.positions[0].id),
            "positions-0-end_date": "2021-05-01",
            "positions-1-id": str(contact.positions[1].id),
        },
    )
    assert staff_client.post_form(f"/contacts/{contact.id}/edit", data).status_code == 302
    db.session.expire_all()
    contact = db.session.get(Contact, contact.id)
    assert len(contact.positions) == 2
    assert [p.title for p in contact.past_positions(date(2022, 1, 1))] == ["Vice Minister"]
    assert [p.title for p in contact.current_positions(date(2022, 1, 1))] == ["Director"]
    page = staff_client.get(f"/contacts/{contact.id}").text
    assert "past" in page


BAD = [
    ({"name": ""}, "This field is required."),
    ({"name": "n" * 201}, "Field cannot be longer than 200 characters."),
    ({"email": "not an email"}, "Invalid email address."),
    (
        {"positions-0-partner": "", "positions-0-partner__label": ""},
        "A position needs an organisation.",
    ),
    ({"positions-0-partner": "999999"}, "This record does not exist or is archived."),
    ({"positions-0-start_date": "2021-02-30"}, "Enter a date as YYYY-MM-DD."),
    ({"positions-0-end_date": "2019-01-01"}, "The end cannot be before the start."),
    ({"phone": "1" * 51}, "Field cannot be longer than 50 characters."),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_input(staff_client, bodies, change, message):
    org, office = bodies
    before = counts()
    data = lu_hongju(org, office, **{"name_zh": "卢红菊 <b>😀</b>"}) | change
    response = staff_client.post_form("/contacts/new", data)
    assert response.status_code == 200
    assert message in response.text
    assert "is-invalid" in response.text
    assert str(escape(data["name_zh"])) in response.text
    assert counts() == before


def test_stale_edit_refused(app, users, bodies):
    org, office = bodies
    contact = make_contact("Wang Xianyi", positions=[(org, "Director")])
    db.session.commit()
    one = app.test_client().login_as(users["staff"])
    two = app.test_client().login_as(users["admin"])
    base = {
        "name": "Wang Xianyi",
        "owner": "0",
        "version": str(contact.version_id),
        "positions-0-id": str(contact.positions[0].id),
        "positions-0-partner": str(org.id),
        "positions-0-title": "Director",
    }
    assert (
        two.post_form(f"/contacts/{contact.id}/edit", {**base, "phone": "111"}).status_code == 302
    )
    stale = one.post_form(f"/contacts/{contact.id}/edit", {**base, "phone": "222"})
    assert "Someone else saved this record" in stale.text and 'value="222"' in stale.text
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).phone == "111"


def names(client, **query):
    text = client.get("/contacts/", query_string=query).text
    return re.findall(r'href="/contacts/\d+">([^<]+)</a>', text)


def test_list_filters_and_lookup(staff_client, bodies, users):
    org, office = bodies
    liu = make_contact(
        "Liu Xian", name_zh="刘贤", positions=[(org, "Director")], owner=users["manager"]
    )
    zhao = make_contact("Zhao Haibin", name_zh="赵海滨", positions=[(office, "Minister")])
    gone = make_contact("Gone Person")
    gone.archived_at = gone.created_at
    db.session.commit()
    assert names(staff_client) == ["Liu Xian", "Zhao Haibin"]
    assert names(staff_client, q="liu xian") == ["Liu Xian"]
    assert names(staff_client, q="刘") == ["Liu Xian"]
    assert names(staff_client, q="zhaohaibin") == ["Zhao Haibin"]
    assert names(staff_client, partner=office.id) == ["Zhao Haibin"]
    assert names(staff_client, owner=users["manager"].id) == ["Liu Xian"]
    assert names(staff_client, archived="only") == ["Gone Person"]
    results = staff_client.get("/contacts/lookup?q=liu").json["results"]
    assert [r["id"] for r in results] == [liu.id]
    assert "Director" in results[0]["detail"]
    assert staff_client.get("/contacts/lookup?q=gone").json["results"] == []
    assert zhao.id


def test_archive_restore_keeps_signatures(app, users, bodies):
    org, office = bodies
    contact = make_contact("Signer", positions=[(org, "Director")], owner=users["staff"])
    agreement = make_agreement(parties=[(org, "party", contact), (office, "party")])
    db.session.commit()
    staff = app.test_client().login_as(users["staff"])
    assert staff.post_form(f"/contacts/{contact.id}/archive").status_code == 302
    assert "Signer" not in staff.get("/contacts/").text
    manager = app.test_client().login_as(users["manager"])
    assert manager.post_form(f"/contacts/{contact.id}/restore").status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).archived_at is None
    assert agreement.parties[0].signatory_id == contact.id
    assert len(db.session.get(Contact, contact.id).positions) == 1


def test_statement_counts(app, staff_client, bodies):
    org, office = bodies
    small = make_contact("Small", positions=[(org, f"T{i}") for i in range(10)])
    big = make_contact("Big", positions=[(office, f"T{i}") for i in range(200)])
    for _ in range(10):
        make_agreement(parties=[(org, "party", small), (office, "party")])
    for _ in range(200):
        make_agreement(parties=[(org, "party", big), (office, "party")])
    db.session.commit()
    staff_client.get("/")  # the first request of an app checks once that accounts exist
    seen = []
    for contact in (small, big):
        with count_statements(app) as log:
            assert staff_client.get(f"/contacts/{contact.id}").status_code == 200
        seen.append(log.count)
    assert seen[0] == seen[1], seen
    listed = []
    for query in ({"q": "small"}, {}):
        with count_statements(app) as log:
            staff_client.get("/contacts/", query_string=query)
        listed.append(log.count)
    assert listed[0] == listed[1]
