"""The partner network: links counted in SQL per pair of partners, the accelerator always
drawn, filters by kind, country and period, caps with a message, a link's detail, and a
fixed number of statements."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape

from crm.dashboard import network
from crm.dashboard.cache import app_cache
from crm.db import db
from tests.dashboard.test_dashboard import drills, list_count
from tests.factories import make_agreement, make_partner, make_project
from tests.querycount import count_statements


def world(n=1, us=None):
    """Us, and per copy: a university and a company in GB, a CN body, shared records."""
    us = us or make_partner("UKIIC", kind="accelerator", country="GB", is_own=True)
    made = []
    for i in range(n):
        uni = make_partner(f"Uni {i}", kind="university", country="GB")
        firm = make_partner(f"Firm {i}", kind="company", country="GB")
        gov = make_partner(f"Gov {i}", kind="government", country="CN")
        gone = make_partner(
            f"Gone {i}", kind="company", country="CN", archived_at=datetime.now(UTC)
        )
        make_agreement(
            f"Old MoU {i}",
            parties=[(us, "party"), (uni, "party")],
            stage="signed",
            signed_on=date(2019, 3, 1),
        )
        make_agreement(
            f"Three {i}",
            parties=[(us, "host"), (uni, "party"), (gov, "party")],
            stage="signed",
            signed_on=date(2021, 5, 17),
        )
        make_agreement(
            f"Archived {i}", parties=[(us, "party"), (firm, "party")], archived_at=datetime.now(UTC)
        )
        make_agreement(f"With gone {i}", parties=[(uni, "party"), (gone, "party")])
        make_project(
            f"Centre {i}",
            partners=[(uni, "lead"), (firm, "participant")],
            start_date=date(2021, 6, 1),
            status="active",
        )
        made.append((uni, firm, gov))
    db.session.commit()
    return us, made


def graph(page: str) -> dict:
    raw = re.search(r'<script type="application/json" id="network-data">(.*?)</script>', page, re.S)
    return json.loads(unescape(raw.group(1)))


def weights(data) -> dict:
    names = {n["id"]: n["name"] for n in data["nodes"]}
    return {
        tuple(sorted((names[link["a"]], names[link["b"]]))): (link["agreements"], link["projects"])
        for link in data["links"]
    }


def test_links_count_shared_agreements_and_projects(staff_client, users):
    us, _ = world()
    page = staff_client.get("/dashboard/network")
    assert page.status_code == 200
    data = graph(page.text)
    assert weights(data) == {
        ("UKIIC", "Uni 0"): (2, 0),
        ("Gov 0", "UKIIC"): (1, 0),
        ("Gov 0", "Uni 0"): (1, 0),
        ("Firm 0", "Uni 0"): (0, 1),
    }
    own = [n for n in data["nodes"] if n["own"]]
    assert [n["id"] for n in own] == [us.id]
    assert {n["name"] for n in data["nodes"]} == {"UKIIC", "Uni 0", "Firm 0", "Gov 0"}
    assert all(n["url"] == f"/partners/{n['id']}" for n in data["nodes"])
    # The table of strongest links drills down to lists counting exactly each link.
    links = drills(page.text)
    assert len(links) == 4
    for url, value in links:
        assert list_count(staff_client, url) == value, url


def test_filters_keep_us_and_narrow_the_rest(staff_client, users):
    world()
    uni = weights(graph(staff_client.get("/dashboard/network?kind=university").text))
    assert uni == {("UKIIC", "Uni 0"): (2, 0)}  # we stay, though an accelerator
    cn = weights(graph(staff_client.get("/dashboard/network?country=CN").text))
    assert cn == {("Gov 0", "UKIIC"): (1, 0)}
    period = staff_client.get("/dashboard/network?from=2021-01-01&to=2021-12-31").text
    assert weights(graph(period)) == {
        ("UKIIC", "Uni 0"): (1, 0),
        ("Gov 0", "UKIIC"): (1, 0),
        ("Gov 0", "Uni 0"): (1, 0),
        ("Firm 0", "Uni 0"): (0, 1),
    }
    for url, value in drills(period):
        assert "2021" in url
        assert list_count(staff_client, url) == value, url
    before = weights(graph(staff_client.get("/dashboard/network?to=2020-12-31").text))
    assert before == {("UKIIC", "Uni 0"): (1, 0)}  # the project started in 2021
    bad = staff_client.get("/dashboard/network?kind=planet&from=soon").text
    assert bad.count("was not understood") == 2


def test_an_empty_network_still_shows_us(staff_client, users):
    make_partner("UKIIC", kind="accelerator", is_own=True)
    db.session.commit()
    page = staff_client.get("/dashboard/network").text
    data = graph(page)
    assert [n["name"] for n in data["nodes"]] == ["UKIIC"] and data["links"] == []
    assert "No two partners share" in page


def test_caps_say_that_not_everything_is_drawn(staff_client, users, monkeypatch):
    world(3)
    monkeypatch.setattr(network, "MAX_LINKS", 2)
    page = staff_client.get("/dashboard/network").text
    data = graph(page)
    assert len(data["links"]) == 2 and 'id="network-capped"' in page
    # The two kept are the strongest: us and each university (two agreements each).
    assert {v for v in weights(data).values()} == {(2, 0)}
    monkeypatch.setattr(network, "MAX_LINKS", 3000)
    monkeypatch.setattr(network, "MAX_PARTNERS", 3)
    app_cache(staff_client.application).clear()
    data = graph(staff_client.get("/dashboard/network").text)
    assert len({n["id"] for n in data["nodes"]}) == 3


def test_link_detail(staff_client, users):
    us, [(uni, firm, gov)] = world()
    detail = staff_client.get(f"/dashboard/network/link?a={us.id}&b={uni.id}").get_json()
    assert [p["name"] for p in detail["partners"]] == ["UKIIC", "Uni 0"]
    assert [a["title"] for a in detail["agreements"]] == ["Three 0", "Old MoU 0"]
    assert detail["projects"] == []
    assert list_count(staff_client, detail["agreements_list"]) == 2
    period = staff_client.get(
        f"/dashboard/network/link?a={us.id}&b={uni.id}&from=2021-01-01&to=2021-12-31"
    ).get_json()
    assert [a["title"] for a in period["agreements"]] == ["Three 0"]
    assert list_count(staff_client, period["agreements_list"]) == 1
    shared = staff_client.get(f"/dashboard/network/link?a={firm.id}&b={uni.id}").get_json()
    assert [p["title"] for p in shared["projects"]] == ["Centre 0"]
    assert list_count(staff_client, shared["projects_list"]) == 1
    for query in (f"a={us.id}&b={us.id}", "a=x&b=1", "a=999999&b=1", ""):
        response = staff_client.get(f"/dashboard/network/link?{query}")
        assert response.status_code == 404 and "error" in response.get_json()


def test_statement_count_does_not_grow(app, staff_client, users):
    staff_client.get("/dashboard/network")
    counts, us = [], None
    for n in (1, 12):
        us, _ = world(n if not counts else n - 1, us)
        app_cache(app).clear()
        with count_statements(app) as cold:
            assert staff_client.get("/dashboard/network").status_code == 200
        counts.append(cold.count)
    assert counts[0] == counts[1], counts
