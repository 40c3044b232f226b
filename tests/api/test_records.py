"""API operations on each kind of record: list, get, create, update, archive, restore;
the pages' rules and permissions; stale updates; the audit trail; statement counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.api.resources import RESOURCES
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project
from tests import factories
from tests.querycount import count_statements

MODELS = {
    "partners": Partner,
    "contacts": Contact,
    "agreements": Agreement,
    "projects": Project,
    "activities": Activity,
}


def new_body(kind: str, partner_ids: list[int]) -> dict:
    """A valid new record of each kind, with its rows filled in."""
    a, b = partner_ids
    return {
        "partners": {
            "name_en": "Taizhou Bay New Area Administrative Committee",
            "name_zh": "台州湾新区管理委员会",
            "kind": "government",
            "country": "CN",
            "tags": ["advanced manufacturing", "biomedicine"],
            "other_names": [{"name": "Taizhou Bay", "kind": "abbreviation"}],
            "figures": [{"label": "Population", "value": "140000", "unit": "people"}],
        },
        "contacts": {
            "name": "Li Wei",
            "name_zh": "李伟",
            "email": "Li.Wei@Example.org",
            "positions": [{"partner": a, "title": "Director", "start_date": "2020-01-01"}],
        },
        "agreements": {
            "title": "Three-party cooperation agreement",
            "stage": "signed",
            "signed_on": "2021-06-18",
            "effective_from": "2021-07-01",
            "expires_on": "2026-06-30",
            "notice_days": 90,
            "value_amount": "1250000.00",
            "value_currency": "CNY",
            "parties": [{"partner": a, "role": "host"}, {"partner": b, "role": "operator"}],
        },
        "projects": {
            "name": "Innovation centre",
            "status": "active",
            "start_date": "2021-07-01",
            "partners": [{"partner": a, "role": "host"}],
            "milestones": [{"title": "Opening", "due_on": "2021-09-01"}],
        },
        "activities": {
            "kind": "event",
            "title": "Signing ceremony",
            "day": "2021-06-18",
            "at": "14:30",
            "timezone": "Asia/Shanghai",
            "location": "Taizhou",
            "partners": [a, b],
        },
    }[kind]


@pytest.fixture
def two_partners(users):
    partners = [factories.make_partner(owner=users["staff"]) for _ in range(2)]
    db.session.commit()
    return [p.id for p in partners]


@pytest.mark.parametrize("kind", list(MODELS))
def test_create_get_update_list_archive_restore(kind, api, users, two_partners):
    body = new_body(kind, two_partners)
    created = api["staff"].post(f"/api/v1/{kind}", json=body)
    assert created.status_code == 201, created.json
    record = created.json
    assert created.headers["Location"] == f"/api/v1/{kind}/{record['id']}"
    assert created.headers["ETag"] == f'"{record["version"]}"'
    assert record["owner"] == users["staff"].id
    for key, value in body.items():
        if not isinstance(value, list):
            assert record[key] in (value, value.lower() if isinstance(value, str) else value)
    stored = db.session.get(MODELS[kind], record["id"])
    assert stored is not None and stored.created_by_id == users["staff"].id

    fetched = api["staff"].get(f"/api/v1/{kind}/{record['id']}")
    assert fetched.status_code == 200 and fetched.json == record

    # The record as read, changed and sent back: a whole GET body is a valid update.
    title_key = next(k for k in ("name_en", "name", "title") if k in record)
    changed = dict(record, **{title_key: "Renamed 改名"})
    updated = api["staff"].patch(f"/api/v1/{kind}/{record['id']}", json=changed)
    assert updated.status_code == 200, updated.json
    assert updated.json[title_key] == "Renamed 改名"
    assert updated.json["version"] > record["version"]
    db.session.expire_all()
    assert getattr(db.session.get(MODELS[kind], record["id"]), title_key) == "Renamed 改名"

    listed = api["staff"].get(f"/api/v1/{kind}", query_string={"q": "改名"})
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json["items"]] == [record["id"]]
    assert listed.json["count"] == 1 and listed.json["count_capped"] is False

    archived = api["staff"].post(f"/api/v1/{kind}/{record['id']}/archive")
    assert archived.status_code == 200 and archived.json["archived_at"]
    assert api["staff"].get(f"/api/v1/{kind}", query_string={"q": "改名"}).json["items"] == []
    only = api["staff"].get(f"/api/v1/{kind}", query_string={"q": "改名", "archived": "only"})
    assert [i["id"] for i in only.json["items"]] == [record["id"]]

    assert api["staff"].post(f"/api/v1/{kind}/{record['id']}/restore").status_code == 403
    restored = api["manager"].post(f"/api/v1/{kind}/{record['id']}/restore")
    assert restored.status_code == 200 and restored.json["archived_at"] is None


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_records_json_holds_exactly_its_forms_fields_and_the_read_only_ones(
    kind, api, two_partners
):
    from crm.api.resources import BY_NAME, read_only_schema

    resource = BY_NAME[kind]
    created = api["staff"].post(f"/api/v1/{kind}", json=new_body(kind, two_partners)).json
    writable = set(resource.spec().fields)
    assert set(resource.represent(db.session.get(resource.model, created["id"]))) == writable
    assert set(created) == writable | set(read_only_schema(resource))


def test_the_pages_rules_refuse_with_the_pages_messages(api, staff_client, two_partners):
    """The same agreement, posted to the page and to the API, gets the same refusals."""
    a, _b = two_partners
    page = staff_client.post_form(
        "/agreements/new",
        {"title": "One-party", "stage": "signed", "parties-0-partner": str(a)},
    )
    assert "A signed agreement needs at least two organisations as parties." in page.text
    assert "Enter the date it was signed." in page.text
    response = api["staff"].post(
        "/api/v1/agreements",
        json={"title": "One-party", "stage": "signed", "parties": [{"partner": a}]},
    )
    assert response.status_code == 422
    assert response.json["errors"] == {
        "stage": ["A signed agreement needs at least two organisations as parties."],
        "signed_on": ["Enter the date it was signed."],
    }
    assert db.session.scalar(select(func.count(Agreement.id))) == 0


def test_field_errors_are_keyed_by_json_path_and_nothing_is_half_saved(api, two_partners):
    a, _b = two_partners
    response = api["staff"].post(
        "/api/v1/projects",
        json={
            "name": "",
            "end_date": "2020-13-01",
            "partners": [{"partner": a, "role": "host"}, {"partner": 999999, "role": "lead"}],
            "milestones": [{"due_on": "2022-01-01"}, {}],
            "budget_amount": "12.345",
        },
    )
    assert response.status_code == 422
    errors = response.json["errors"]
    assert errors["name"] == ["This field is required."]
    assert errors["end_date"] == ["Enter a date as YYYY-MM-DD."]
    assert errors["partners.1.partner"] == ["This record does not exist or is archived."]
    assert errors["milestones.0.title"] == ["This field is required."]
    assert errors["milestones.1"] == ["This row is empty."]
    assert errors["budget_amount"] == ["Use at most two decimals."]
    assert db.session.scalar(select(func.count(Project.id))) == 0


def test_operation_refusals_come_back_at_their_fields(api, users):
    parent = factories.make_partner()
    child = factories.make_partner(parent_id=parent.id)
    db.session.commit()
    response = api["staff"].patch(
        f"/api/v1/partners/{parent.id}", json={"parent": child.id, "version": 1}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {
        "parent": ["This would make the organisation its own ancestor."]
    }


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"name_en": 5}, "name_en", "Enter text."),
        ({"name_en": "x", "is_own": "yes"}, "is_own", "Enter true or false."),
        ({"name_en": "x", "parent": "3"}, "parent", "Enter a whole number."),
        ({"name_en": "x", "figures": [{"label": "a", "value": 4.5}]}, "figures.0.value", None),
        ({"name_en": "x", "figures": [{"label": "a", "nope": 1}]}, "figures.0.nope", None),
        ({"name_en": "x", "tags": ["a,b"]}, "tags", "A name in this list cannot contain a comma."),
        ({"name_en": "x\ud800"}, "name_en", None),
        ({"name_en": "x", "colour": "red"}, "colour", "There is no such field."),
        ({"name_en": "x", "other_names": [{"name": "y"}] * 501}, "other_names", None),
    ],
)
def test_json_of_the_wrong_shape_is_refused_per_field(api, body, path, message):
    response = api["staff"].post("/api/v1/partners", json=body)
    assert response.status_code == 422, response.json
    assert path in response.json["errors"]
    if message:
        assert response.json["errors"][path] == [message]
    assert db.session.scalar(select(func.count(Partner.id))) == 0


def test_bodies_that_are_not_json_objects(api):
    client = api["staff"]
    not_json = client.post("/api/v1/partners", data="name_en=x")
    assert not_json.status_code == 415 and not_json.json["message"]
    bad = client.post("/api/v1/partners", data="{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.json["message"] == "The body is not valid JSON."
    deep = client.post("/api/v1/partners", data="[" * 100_000, content_type="application/json")
    assert deep.status_code == 400
    nan = client.post("/api/v1/partners", data='{"x": NaN}', content_type="application/json")
    assert nan.status_code == 400
    listed = client.post("/api/v1/partners", json=["name_en"])
    assert listed.status_code == 400 and listed.json["message"] == "The body must be a JSON object."


def test_an_oversized_body_is_413(make_app, tokens):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    token = tokens["staff"]
    response = app.test_client().post(
        "/api/v1/partners",
        json={"name_en": "x" * 5000},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413 and response.json["errors"] == {}


def test_owner_is_reassigned_by_managers_only(api, users):
    staff, manager = users["staff"], users["manager"]
    mine = api["staff"].post("/api/v1/partners", json={"name_en": "Mine"}).json
    refused = api["staff"].patch(
        f"/api/v1/partners/{mine['id']}", json={"owner": manager.id, "version": 1}
    )
    assert refused.status_code == 422
    assert refused.json["errors"] == {"owner": ["Only managers may give a record to someone else."]}
    # Sending one's own current owner back (as in a GET body) is no reassignment.
    same = api["staff"].patch(f"/api/v1/partners/{mine['id']}", json={**mine, "city": "Linhai"})
    assert same.status_code == 200 and same.json["owner"] == staff.id
    moved = api["manager"].patch(
        f"/api/v1/partners/{mine['id']}", json={"owner": manager.id, "version": 2}
    )
    assert moved.status_code == 200 and moved.json["owner"] == manager.id
    created = api["manager"].post("/api/v1/partners", json={"name_en": "Given", "owner": staff.id})
    assert created.status_code == 201 and created.json["owner"] == staff.id


def test_staff_archive_only_what_they_own_managers_anything(api, users):
    theirs = factories.make_partner(owner=users["manager"])
    mine = factories.make_partner(owner=users["staff"])
    db.session.commit()
    refused = api["staff"].post(f"/api/v1/partners/{theirs.id}/archive")
    assert refused.status_code == 403 and "own" in refused.json["message"]
    assert db.session.get(Partner, theirs.id).archived_at is None
    assert api["staff"].post(f"/api/v1/partners/{mine.id}/archive").status_code == 200
    assert api["manager"].post(f"/api/v1/partners/{theirs.id}/archive").status_code == 200
    assert api["admin"].post(f"/api/v1/partners/{mine.id}/restore").status_code == 200


def test_a_stale_update_is_409_with_the_current_version(api):
    record = api["staff"].post("/api/v1/partners", json={"name_en": "Acme"}).json
    first = api["manager"].patch(
        f"/api/v1/partners/{record['id']}", json={"city": "Taizhou", "version": 1}
    )
    assert first.status_code == 200 and first.json["version"] == 2
    stale = api["staff"].patch(
        f"/api/v1/partners/{record['id']}", json={"city": "Linhai", "version": 1}
    )
    assert stale.status_code == 409
    assert stale.json["current_version"] == 2
    assert stale.json["changes"][0]["changes"] == {"city": [None, "Taizhou"]}
    db.session.expire_all()
    assert db.session.get(Partner, record["id"]).city == "Taizhou"
    # If-Match carries the version as well (as the ETag gave it); "*" overwrites any.
    url = f"/api/v1/partners/{record['id']}"
    old = api["staff"].patch(url, json={"city": "Linhai"}, headers={"If-Match": '"1"'})
    assert old.status_code == 409
    ok = api["staff"].patch(
        url, json={"city": "Linhai"}, headers={"If-Match": first.headers["ETag"]}
    )
    assert ok.status_code == 200 and ok.json["city"] == "Linhai"
    anyway = api["staff"].patch(url, json={"city": "Wenling"}, headers={"If-Match": "*"})
    assert anyway.status_code == 200 and anyway.json["version"] == 4
    missing = api["staff"].patch(url, json={"city": "Sanmen"})
    assert missing.status_code == 422 and "version" in missing.json["errors"]
    garbled = api["staff"].patch(url, json={"city": "Sanmen"}, headers={"If-Match": "soon"})
    assert garbled.status_code == 400


def test_a_partial_update_keeps_the_rest_and_a_list_replaces_the_list(api, two_partners):
    a, b = two_partners
    created = api["staff"].post("/api/v1/agreements", json=new_body("agreements", [a, b])).json
    url = f"/api/v1/agreements/{created['id']}"
    response = api["staff"].patch(url, json={"summary": "Signed in Taizhou", "version": 1})
    assert response.json["parties"] == created["parties"]
    assert response.json["value_amount"] == "1250000.00"
    keep = created["parties"][0]
    parties = [keep, {"partner": b, "role": "funder"}, {"partner": b, "role": "witness"}]
    response = api["staff"].patch(url, json={"parties": parties, "version": 2})
    assert response.status_code == 200, response.json
    assert [(p["partner"], p["role"]) for p in response.json["parties"]] == [
        (a, "host"),
        (b, "funder"),
        (b, "witness"),
    ]
    assert response.json["parties"][0]["id"] == keep["id"]


def test_list_uses_the_pages_filters_sorts_and_keyset_paging(api, users):
    for n in range(7):
        factories.make_partner(
            name_en=f"Org {n}", kind="university" if n % 2 else "company", country="CN"
        )
    db.session.commit()
    client = api["staff"]
    kinds = client.get("/api/v1/partners", query_string={"kind": ["university"]}).json
    assert {i["kind"] for i in kinds["items"]} == {"university"} and kinds["count"] == 3
    both = client.get("/api/v1/partners?kind=university&kind=company").json
    assert both["count"] == 7
    seen, url, pages = [], "/api/v1/partners?limit=3&sort=name&dir=desc", 0
    while url:
        page = client.get(url).json
        seen += [i["name_en"] for i in page["items"]]
        url, pages = page["next"], pages + 1
    assert seen == [f"Org {n}" for n in reversed(range(7))] and pages == 3
    last = client.get("/api/v1/partners?limit=3&sort=name&dir=desc").json
    back = client.get(
        "/api/v1/partners",
        query_string={"limit": 3, "sort": "name", "dir": "desc", "after": last["next_cursor"]},
    ).json
    assert back["prev_cursor"] and back["items"][0]["name_en"] == "Org 3"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"kind": "castle"}, ["kind"]),
        ({"created_from": "yesterday"}, ["created_from"]),
        ({"sort": "colour"}, ["sort"]),
        ({"dir": "up"}, ["dir"]),
        ({"limit": "1000"}, ["limit"]),
        ({"after": "bm90IGEgY3Vyc29y"}, ["after"]),
        ({"after": "x", "before": "y"}, ["before"]),
        ({"colour": "red"}, ["colour"]),
        ({"tag": "a\x00b"}, ["tag"]),
    ],
)
def test_bad_list_parameters_are_400_by_name(api, query, names):
    response = api["staff"].get("/api/v1/partners", query_string=query)
    assert response.status_code == 400
    assert sorted(response.json["errors"]) == names


def test_a_filter_added_to_a_list_page_works_in_the_api_at_once(api, monkeypatch):
    from crm.listing import Filter
    from crm.partners import queries

    factories.make_partner(name_en="Zhejiang", city="Hangzhou")
    factories.make_partner(name_en="Other", city="Ningbo")
    db.session.commit()

    def by_city(query, value):
        return query.where(Partner.city == value)

    monkeypatch.setattr(queries, "FILTERS", [*queries.FILTERS, Filter("city", by_city)])
    response = api["staff"].get("/api/v1/partners", query_string={"city": "Hangzhou"})
    assert response.status_code == 200
    assert [i["name_en"] for i in response.json["items"]] == ["Zhejiang"]


@pytest.mark.parametrize("kind", list(MODELS))
def test_list_and_get_send_a_fixed_number_of_statements(kind, app, api, users, two_partners):
    client = api["staff"]
    counted = []
    for extra in (1, 6):
        for _ in range(extra):
            assert client.post(f"/api/v1/{kind}", json=new_body(kind, two_partners)).status_code
        with count_statements(app) as log:
            response = client.get(f"/api/v1/{kind}")
        assert response.status_code == 200
        counted.append(log.count)
    assert counted[0] == counted[1], counted


def test_api_writes_land_in_the_audit_trail_as_the_tokens_user(api, users, two_partners):
    created = api["staff"].post("/api/v1/partners", json={"name_en": "Audited"}).json
    api["staff"].patch(f"/api/v1/partners/{created['id']}", json={"city": "Taizhou", "version": 1})
    api["staff"].post(f"/api/v1/partners/{created['id']}/archive")
    api["manager"].post(f"/api/v1/partners/{created['id']}/restore")
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.record_type == "partner", AuditEntry.record_id == created["id"])
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.user_id) for e in entries] == [
        ("create", users["staff"].id),
        ("update", users["staff"].id),
        ("archive", users["staff"].id),
        ("restore", users["manager"].id),
    ]
    assert entries[1].changes == {"city": [None, "Taizhou"]}


def test_an_activity_keeps_its_local_time_and_starts_with_its_author_present(api, users):
    body = {"title": "Visit", "day": "2021-06-18", "at": "09:15", "timezone": "Europe/London"}
    created = api["staff"].post("/api/v1/activities", json=body).json
    assert created["occurred_at"] == "2021-06-18T08:15:00+00:00"
    assert (created["day"], created["at"]) == ("2021-06-18", "09:15")
    assert created["staff"] == [users["staff"].id]
    stored = db.session.get(Activity, created["id"])
    assert stored.occurred_at == datetime(2021, 6, 18, 8, 15, tzinfo=UTC)


def test_a_project_with_indicators_and_actuals(api):
    kinds = factories.indicator_kinds()
    db.session.commit()
    talents, money = kinds["talents"].id, kinds["investment"].id
    body = {
        "name": "Talent programme",
        "indicators": [
            {"kind_id": talents, "target": "100"},
            {"kind_id": money, "target": "5000000", "currency": "CNY"},
        ],
        "actuals": [{"kind_id": talents, "period": "2021 q3", "value": "12"}],
    }
    created = api["staff"].post("/api/v1/projects", json=body)
    assert created.status_code == 201, created.json
    actual = created.json["actuals"][0]
    assert (actual["period"], actual["period_end"], actual["value"]) == (
        "2021-Q3",
        "2021-09-30",
        "12.00",
    )
    no_currency = api["staff"].post(
        "/api/v1/projects",
        json={"name": "P", "indicators": [{"kind_id": money, "target": "1"}]},
    )
    assert no_currency.json["errors"] == {
        "indicators.0.currency": ["Choose the currency of this indicator."]
    }


def test_every_resource_is_served(app):
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    for resource in RESOURCES:
        assert f"/api/v1/{resource.name}" in rules
        assert f"/api/v1/{resource.name}/<int:record_id>/restore" in rules


def test_lists_take_the_filters_that_read_several_arguments(api):
    """partner_kind with partner_country (one partner both) works in the API as on the page."""
    uni_cn = factories.make_partner(name_en="Uni CN", kind="university", country="CN")
    uni_gb = factories.make_partner(name_en="Uni GB", kind="university", country="GB")
    firm_cn = factories.make_partner(name_en="Firm CN", kind="company", country="CN")
    factories.make_agreement(title="Both in one", parties=[(uni_cn, "party"), (firm_cn, "party")])
    factories.make_agreement(title="Split", parties=[(uni_gb, "party"), (firm_cn, "party")])
    db.session.commit()
    client = api["staff"]
    args = {"partner_kind": "university", "partner_country": "CN"}
    listed = client.get("/api/v1/agreements", query_string=args)
    assert listed.status_code == 200
    assert [i["title"] for i in listed.json["items"]] == ["Both in one"]
    page = client.get("/api/v1/agreements", query_string={"partner_kind": "university"}).json
    assert sorted(i["title"] for i in page["items"]) == ["Both in one", "Split"]
    bad = client.get("/api/v1/agreements", query_string={"partner_kind": "spaceship"})
    assert bad.status_code == 400 and "partner_kind" in bad.json["errors"]
    spec = client.get("/api/v1/openapi.json").json
    names = {p["name"] for p in spec["paths"]["/api/v1/agreements"]["get"]["parameters"]}
    assert {"partner_kind", "partner_country"} <= names


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/partners?created_to=9999-12-31", "created_to"),
        ("/api/v1/partners?active=2020-01-01..9999-12-31", "active"),
        ("/api/v1/activities?to=9999-12-31", "to"),
    ],
)
def test_a_day_at_the_end_of_the_calendar_is_a_400_not_a_500(api, url, parameter):
    response = api["staff"].get(url)
    assert response.status_code == 400
    assert parameter in response.get_json()["errors"]


@pytest.mark.parametrize(("kind", "title_key"), [("partners", "name_en"), ("contacts", "name")])
def test_other_names_sent_again_without_their_ids_are_kept(api, kind, title_key):
    # Found in review: a list of other names sent without row ids, naming names the
    # record already had, collided with them (unique per record) and was refused with a
    # misleading 409 "someone else saved".
    names = [{"name": "ACME", "kind": "abbreviation"}, {"name": "Acme Works", "kind": "alias"}]
    created = api["staff"].post(f"/api/v1/{kind}", json={title_key: "Acme", "other_names": names})
    assert created.status_code == 201, created.json
    record = created.json
    again = [{"name": "Acme Works", "kind": "former"}, {"name": "ACME", "kind": "abbreviation"}]
    updated = api["staff"].patch(
        f"/api/v1/{kind}/{record['id']}",
        json={"version": record["version"], "other_names": again},
    )
    assert updated.status_code == 200, updated.json
    kept = {(n["name"], n["kind"]) for n in updated.json["other_names"]}
    assert kept == {("Acme Works", "former"), ("ACME", "abbreviation")}
    # The rows already there are kept: their ids are what they were.
    assert {n["id"] for n in updated.json["other_names"]} == {
        n["id"] for n in record["other_names"]
    }
