"""Hand-made keyset cursors on every list, every sort, pages and API: never a 500.

A cursor is base64 JSON of the last row's sort key. Someone editing it by hand may put a
date out of range (year 0, year 10000, month 13, a time that leaves the calendar once
moved to UTC), a huge number, or a value of the wrong type in any position. Pages answer
the first page with a message; the API answers 400 with a JSON error.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crm.api.resources import RESOURCES
from tests import factories
from tests.api.conftest import ApiClient

# Every list page and the module holding its sorts (a test below checks none is missing).
PAGES = {
    "/partners/": "crm.partners.queries",
    "/contacts/": "crm.contacts.queries",
    "/agreements/": "crm.agreements.queries",
    "/projects/": "crm.projects.queries",
    "/activities/": "crm.activities.queries",
    "/admin/audit": "crm.audit.queries",
    "/dashboard/milestones": "crm.dashboard.milestones",
    "/duplicates/": "crm.duplicates.queries",
}

VALID = {
    datetime: {"dt": "2021-01-01T00:00:00+00:00"},
    date: {"d": "2021-01-01"},
    int: 1,
    str: "m",
    Decimal: {"n": "0.5"},
}
HOSTILE = {
    datetime: [
        {"dt": "0001-01-01T00:00:00+05:00"},  # before year 1 once in UTC
        {"dt": "9999-12-31T23:59:59-05:00"},  # after year 9999 once in UTC
        {"dt": "0000-01-01T00:00:00+00:00"},
        {"dt": "10000-01-01T00:00:00+00:00"},
        {"dt": "2021-13-01T00:00:00+00:00"},
        {"dt": "2021-01-01T00:00:00+99:00"},
        {"dt": 10**30},
        {"dt": None},
        {"d": "2021-01-01"},
        10**30,
        "2021-01-01T00:00:00+00:00",
    ],
    date: [
        {"d": "0000-01-01"},
        {"d": "10000-01-01"},
        {"d": "2021-13-01"},
        {"d": 10**30},
        {"dt": "2021-01-01T00:00:00+00:00"},
        10**30,
    ],
    int: [2**31, -(2**31) - 1, 10**30, -(10**30), 2**63, 1.5, "1", {"n": "1"}, 1e308],
    str: [10**30, {"d": "2021-01-01"}, "x" * 1001, "x\u0000"],
    Decimal: [{"n": "1e30"}, {"n": "-1e400"}, {"n": "1e-400"}, {"n": "NaN"}, {"n": "9" * 80}],
}


# Extreme but real sort keys (a missing date sorts as 9999-12-31): they page normally.
EXTREME = {
    datetime: [{"dt": "0001-01-01T00:00:00+00:00"}, {"dt": "9999-12-31T23:59:59+00:00"}],
    date: [{"d": "0001-01-01"}, {"d": "9999-12-31"}],
    int: [2**31 - 1, 0, -(2**31 - 1)],
    str: ["", "\U0001f600"],
    Decimal: [{"n": "0"}, {"n": "-1"}],
}


def python_type(column):
    column_type = getattr(column.type, "impl_instance", column.type)
    return column_type.python_type


def encoded(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def hand_made(columns, table=HOSTILE) -> list[str]:
    """Cursors for these sort columns (+ id) with one hostile value in each position."""
    types = [python_type(c) for c in columns]
    made = []
    for position, kind in enumerate(types):
        for bad in table[kind]:
            values = [VALID[t] for t in types]
            values[position] = bad
            made.append(encoded(values))
    return made


def sorts_of(module_name: str) -> dict:
    import importlib

    return importlib.import_module(module_name).SORTS


@pytest.fixture
def records(app, users):
    partner = factories.make_partner("Acme", country="GB")
    other = factories.make_partner("Beta")
    factories.make_contact("Ann", positions=[(partner, "CEO")])
    factories.make_agreement("MoU", parties=[(partner, "party"), (other, "party")])
    factories.make_project("Bridge", partners=[(partner, "lead")])
    from crm.db import db

    db.session.commit()


@pytest.fixture
def api_admin(app, users):
    from crm.api.tokens import create_token
    from crm.db import db

    token = create_token(users["admin"], "sweep", None)[1]
    db.session.commit()
    return ApiClient(app, token)


def test_every_list_with_sorts_is_swept():
    """A new list (a module with SORTS) must be added to PAGES, so it is swept too."""
    root = Path(__file__).resolve().parent.parent / "crm"
    found = set()
    for path in root.rglob("*.py"):
        if re.search(r"^SORTS\s*=", path.read_text(encoding="utf-8"), re.MULTILINE):
            found.add(".".join(path.relative_to(root.parent).with_suffix("").parts))
    assert found == set(PAGES.values())


@pytest.mark.parametrize("url", PAGES)
def test_hand_made_cursors_give_the_first_page_with_a_message(app, admin_client, records, url):
    for key, sort in sorts_of(PAGES[url]).items():
        columns = [*sort.columns, sort.columns[0].table.c.id]
        first = admin_client.get(url, query_string={"sort": key})
        assert first.status_code == 200
        for index, cursor in enumerate(hand_made(columns)):
            way = "after" if index % 2 == 0 else "before"
            response = admin_client.get(url, query_string={"sort": key, way: cursor})
            assert response.status_code == 200, (url, key, cursor)
            assert "showing the first page" in response.text, (url, key, cursor)
        for cursor in hand_made(columns, EXTREME):
            for way in ("after", "before"):
                response = admin_client.get(url, query_string={"sort": key, way: cursor})
                assert response.status_code == 200, (url, key, cursor)


def test_a_good_cursor_gives_no_message(app, admin_client, records):
    for n in range(3):
        factories.make_partner(f"Extra {n}")
    from crm.db import db

    db.session.commit()
    app.config["PAGE_SIZE"] = 2
    first = admin_client.get("/partners/", query_string={"sort": "updated"})
    cursor = re.search(r'rel="next" href="[^"]*after=([^&"]+)', first.text).group(1)
    second = admin_client.get("/partners/", query_string={"sort": "updated", "after": cursor})
    assert second.status_code == 200
    assert "showing the first page" not in second.text


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_hand_made_cursors_get_a_json_400_from_the_api(app, api_admin, records, resource):
    url = f"/api/v1/{resource.name}"
    for key, sort in resource.sorts.items():
        columns = [*sort.columns, resource.model.id]
        for index, cursor in enumerate(hand_made(columns)):
            way = "after" if index % 2 == 0 else "before"
            response = api_admin.get(url, query_string={"sort": key, way: cursor})
            assert response.status_code == 400, (url, key, cursor, response.status_code)
            assert response.is_json
            assert way in response.get_json()["errors"], (url, key, cursor)
        for cursor in hand_made(columns, EXTREME):
            response = api_admin.get(url, query_string={"sort": key, "after": cursor})
            assert response.status_code == 200, (url, key, cursor, response.status_code)


TIMELINE_CURSORS = [
    ["0001-01-01T00:00:00+05:00", "activity", 1],
    ["9999-12-31T23:59:59-05:00", "change", 1],
    ["0000-01-01T00:00:00+00:00", "activity", 1],
    ["2021-13-01T00:00:00+00:00", "activity", 1],
    ["2021-01-01T00:00:00+00:00", "activity", 10**30],
    ["2021-01-01T00:00:00+00:00", "follow_up", 2**31],
    ["2021-01-01T00:00:00+00:00", "activity", True],
    ["2021-01-01T00:00:00+00:00", "nothing", 1],
    [10**30, "activity", 1],
    [[1], {"a": 1}, None],
    {"a": 1},
]


@pytest.mark.parametrize("values", TIMELINE_CURSORS)
def test_hand_made_timeline_cursors_never_fail(app, admin_client, records, values):
    from sqlalchemy import select

    from crm.agreements.models import Agreement
    from crm.db import db
    from crm.partners.models import Partner
    from crm.projects.models import Project

    pages = [
        f"/partners/{db.session.scalar(select(Partner.id).limit(1))}",
        f"/agreements/{db.session.scalar(select(Agreement.id).limit(1))}",
        f"/projects/{db.session.scalar(select(Project.id).limit(1))}",
    ]
    for url in pages:
        response = admin_client.get(url, query_string={"tl_after": encoded(values)})
        assert response.status_code == 200, (url, values)
