"""One table of bad input, sent through all three doors: the form, the API and the importer.

Each case is one record that breaks one rule. Every door must refuse it with the same
message, and write nothing. A rule that one door enforces and another forgets (an import
row with only a Chinese name, an API create with dates out of order) fails here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project
from tests.factories import make_partner
from tests.imports import flow

MODELS = {"partner": Partner, "contact": Contact, "agreement": Agreement, "project": Project}
NEW_PAGE = {
    "partner": "/partners/new",
    "contact": "/contacts/new",
    "agreement": "/agreements/new",
    "project": "/projects/new",
}


@dataclass
class Case:
    id: str
    kind: str
    message: str
    form: dict[str, str]  # the fields as the page posts them
    api: dict  # the same record as the API takes it
    csv: dict[str, str]  # the same record as an import row: header -> cell
    needs_partners: bool = field(default=False)


CASES = [
    Case(
        "partner without an English name",
        "partner",
        "This field is required.",
        form={"name_zh": "台州湾新区", "kind": "government", "status": "prospect"},
        api={"name_zh": "台州湾新区", "kind": "government"},
        csv={"Chinese name": "台州湾新区", "Kind": "government"},
    ),
    Case(
        "partner website without a scheme of the web",
        "partner",
        "Start the address with http:// or https://",
        form={"name_en": "Taizhou Bay", "website": "ftp://taizhou.example", "kind": "government"},
        api={"name_en": "Taizhou Bay", "website": "ftp://taizhou.example", "kind": "government"},
        csv={"English name": "Taizhou Bay", "Website": "ftp://taizhou.example"},
    ),
    Case(
        "partner name past its length",
        "partner",
        "300",
        form={"name_en": "T" * 301, "kind": "company"},
        api={"name_en": "T" * 301, "kind": "company"},
        csv={"English name": "T" * 301},
    ),
    Case(
        "contact without a name",
        "contact",
        "This field is required.",
        form={"name_zh": "刘贤"},
        api={"name_zh": "刘贤"},
        csv={"Chinese name": "刘贤"},
    ),
    Case(
        "agreement expiring before it starts",
        "agreement",
        "The expiry cannot be before the start.",
        form={
            "title": "Cooperation",
            "type": "cooperation",
            "stage": "draft",
            "effective_from": "2026-05-01",
            "expires_on": "2026-04-01",
        },
        api={
            "title": "Cooperation",
            "type": "cooperation",
            "stage": "draft",
            "effective_from": "2026-05-01",
            "expires_on": "2026-04-01",
        },
        csv={"Title": "Cooperation", "Effective from": "2026-05-01", "Expires on": "2026-04-01"},
    ),
    Case(
        "signed agreement without a signing date",
        "agreement",
        "Enter the date it was signed.",
        form={
            "title": "Cooperation",
            "type": "cooperation",
            "stage": "signed",
            "parties-0-partner": "{a}",
            "parties-0-role": "party",
            "parties-1-partner": "{b}",
            "parties-1-role": "party",
        },
        api={
            "title": "Cooperation",
            "type": "cooperation",
            "stage": "signed",
            "parties": [{"partner": "{a}", "role": "party"}, {"partner": "{b}", "role": "party"}],
        },
        csv={"Title": "Cooperation", "Stage": "signed", "Parties": "Alpha Bureau; Beta College"},
        needs_partners=True,
    ),
    Case(
        "agreement value without a currency",
        "agreement",
        "Choose the currency of the amount.",
        form={"title": "Cooperation", "type": "cooperation", "stage": "draft"}
        | {"value_amount": "1000"},
        api={"title": "Cooperation", "type": "cooperation", "stage": "draft"}
        | {"value_amount": "1000"},
        csv={"Title": "Cooperation", "Value": "1000"},
    ),
    Case(
        "project ending before it starts",
        "project",
        "The end cannot be before the start.",
        form={
            "name": "Innovation centre",
            "status": "planned",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
        },
        api={
            "name": "Innovation centre",
            "status": "planned",
            "start_date": "2026-05-01",
            "end_date": "2026-04-01",
        },
        csv={"Name": "Innovation centre", "Start": "2026-05-01", "End": "2026-04-01"},
    ),
]


def _fill(value, ids, json=False):
    """Put the ids of the partners made for the case in place of "{a}", "{b}" (numbers
    in JSON, text in a form)."""
    if isinstance(value, str):
        if json and value.startswith("{") and value.strip("{}") in ids:
            return ids[value.strip("{}")]
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids, json) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids, json) for k, v in value.items()}
    return value


def _partners(case):
    if not case.needs_partners:
        return {}
    a = make_partner("Alpha Bureau")
    b = make_partner("Beta College")
    db.session.commit()
    return {"a": a.id, "b": b.id}


def _count(kind):
    return db.session.scalar(select(func.count(MODELS[kind].id)))


def _messages(errors) -> str:
    """Every message of an API error body, whatever its nesting."""
    if isinstance(errors, dict):
        return " ".join(_messages(v) for v in errors.values())
    if isinstance(errors, list):
        return " ".join(_messages(v) for v in errors)
    return str(errors)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_form_refuses_it(staff_client, users, case):
    ids = _partners(case)
    before = _count(case.kind)
    response = staff_client.post_form(NEW_PAGE[case.kind], _fill(case.form, ids))
    assert response.status_code == 200, response.status_code
    assert case.message in response.text
    assert _count(case.kind) == before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_api_refuses_it(api, case):
    ids = _partners(case)
    before = _count(case.kind)
    response = api["staff"].post(f"/api/v1/{case.kind}s", json=_fill(case.api, ids, json=True))
    assert response.status_code in (400, 422), (response.status_code, response.json)
    assert case.message in _messages(response.json["errors"]), response.json
    assert _count(case.kind) == before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_importer_refuses_it(staff_client, users, case):
    _partners(case)
    before = _count(case.kind)
    headers = list(case.csv)
    line = ",".join(f'"{case.csv[h]}"' for h in headers)
    data = (",".join(headers) + "\n" + line + "\n").encode()
    imp = flow.full_import(staff_client, case.kind, data)
    outcome, reason = flow.outcomes(imp)[2]
    assert outcome == "failed", (outcome, reason)
    assert case.message in reason
    assert _count(case.kind) == before


def test_the_api_runs_the_duplicate_guard_of_the_create_form(api, staff_client, users):
    """The form lists look-alikes before saving; the API answers 409 with them, and
    creates the record only when told to save anyway."""
    existing = make_partner("Taizhou Bay New Area Administrative Committee")
    db.session.commit()
    body = {"name_en": "Taizhou Bay New Area Administrative Committee (Zhejiang)"}

    page = staff_client.post_form("/partners/new", {**body, "kind": "government"})
    assert page.status_code == 200 and 'name="save_anyway"' in page.text

    refused = api["staff"].post("/api/v1/partners", json=body)
    assert refused.status_code == 409, refused.json
    assert [d["id"] for d in refused.json["duplicates"]] == [existing.id]
    assert refused.json["duplicates"][0]["url"] == f"/partners/{existing.id}"
    assert _count("partner") == 1

    wrong = api["staff"].post("/api/v1/partners", json={**body, "save_anyway": "yes"})
    assert wrong.status_code == 422 and "save_anyway" in wrong.json["errors"]

    created = api["staff"].post("/api/v1/partners", json={**body, "save_anyway": True})
    assert created.status_code == 201, created.json
    assert _count("partner") == 2
