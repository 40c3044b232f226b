"""The OpenAPI document: valid OpenAPI 3.0, and made from what the API runs on, so it
lists every route, every list filter and every form field, and nothing else."""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from crm.api.resources import RESOURCES, read_only_schema


@pytest.fixture
def doc(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.json


def test_it_is_valid_openapi_3_and_public(doc):
    OPENAPI_30_VALIDATOR.validate(doc)
    assert doc["openapi"].startswith("3.0")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_every_api_route_and_method_is_described_and_nothing_else(app, doc):
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = rule.rule.replace("<int:record_id>", "{record_id}")
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == described
    assert len(described) == 5 * 6 + 1


def test_lists_take_exactly_the_list_pages_filters_and_sorts(doc):
    for resource in RESOURCES:
        operation = doc["paths"][f"/api/v1/{resource.name}"]["get"]
        names = [p["name"] for p in operation["parameters"]]
        assert names == [f.name for f in resource.filters] + [
            "sort",
            "dir",
            "after",
            "before",
            "limit",
        ]
        sort = next(p for p in operation["parameters"] if p["name"] == "sort")
        assert sort["schema"]["enum"] == list(resource.sorts)


def test_a_filter_added_to_a_list_page_appears_in_the_document(make_app, monkeypatch):
    from crm.listing import Filter
    from crm.projects import queries

    monkeypatch.setattr(
        queries, "FILTERS", [*queries.FILTERS, Filter("partner_kind", lambda q, v: q, multi=True)]
    )
    doc = make_app().test_client().get("/api/v1/openapi.json").json
    params = doc["paths"]["/api/v1/projects"]["get"]["parameters"]
    added = next(p for p in params if p["name"] == "partner_kind")
    assert added["schema"] == {"type": "array", "items": {"type": "string"}}


def test_bodies_follow_the_forms(doc):
    schemas = doc["components"]["schemas"]
    new = schemas["AgreementNew"]
    assert new["required"] == ["title"]
    assert new["properties"]["title"]["maxLength"] == 500
    assert new["properties"]["stage"]["enum"] == ["draft", "negotiation", "signed", "terminated"]
    assert new["properties"]["notice_days"]["maximum"] == 3650
    parties = new["properties"]["parties"]["items"]
    assert set(parties["properties"]) == {"id", "partner", "role", "signatory", "signatory_title"}
    milestones = schemas["ProjectNew"]["properties"]["milestones"]["items"]
    assert milestones["required"] == ["title"]
    assert "version" in schemas["AgreementChanges"]["properties"]
    assert schemas["ActivityNew"]["properties"]["partners"]["items"]["type"] == "integer"
    assert schemas["PartnerNew"]["properties"]["tags"]["items"] == {"type": "string"}


def test_response_records_hold_the_form_fields_and_the_read_only_ones(doc):
    for resource in RESOURCES:
        schema = doc["components"]["schemas"][resource.singular.title()]
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == set(resource.spec().fields) | set(
            read_only_schema(resource)
        )
        assert set(schema["required"]) == set(schema["properties"])


def test_every_error_answer_is_described_with_the_error_shape(doc):
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "429" in codes, (path, method)
            if path != "/api/v1/openapi.json":
                assert "401" in codes
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error"
    update = doc["paths"]["/api/v1/partners/{record_id}"]["patch"]["responses"]
    assert {"400", "404", "409", "413", "415", "422"} <= set(update)
