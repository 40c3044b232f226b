"""The managers' dashboard: who may open it, figures on known data, drill-down counts equal
to the figures, filters, a fixed number of statements, and plotly served by the app."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest

from crm.activities.models import FollowUp
from crm.db import db
from crm.projects.models import Indicator, IndicatorActual, Milestone
from tests.factories import (
    indicator_kinds,
    make_agreement,
    make_partner,
    make_project,
)
from tests.querycount import count_statements

TODAY = date.today()
YEAR = TODAY.year
PERIOD = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}


def figure(page: str, element_id: str) -> int:
    """The number shown in the element with this id (its drill-down link's data-figure)."""
    match = re.search(
        rf'id="{element_id}"[^>]*>\s*<a href="[^"]*" data-drill data-figure="(\d+)"', page
    )
    assert match, f"no linked figure {element_id}"
    return int(match.group(1))


def drills(page: str) -> list[tuple[str, int]]:
    return [
        (unescape(href), int(value))
        for href, value in re.findall(r'<a href="([^"]+)" data-drill data-figure="(\d+)"', page)
    ]


def list_count(client, url) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    match = re.search(r'data-count="(\d+)(\+?)"', response.text)
    assert match and not match.group(2), url
    assert "was not understood" not in response.text, url
    return int(match.group(1))


def populate(users, n=1):
    """A known world, `n` copies of it, all inside the current year where dated."""
    manager, staff = users["manager"], users["staff"]
    kinds = indicator_kinds()
    for i in range(n):
        uk = make_partner(
            f"UK uni {i}", kind="university", country="GB", status="active", owner=manager
        )
        cn = make_partner(
            f"CN gov {i}", kind="government", country="CN", status="active", owner=staff
        )
        make_partner(f"Prospect {i}", kind="company", country="CN", status="prospect", owner=staff)
        make_partner(f"No country {i}", kind="company", country="", status="dormant")
        make_partner(f"Archived {i}", kind="company", country="CN", archived_at=datetime.now(UTC))
        make_agreement(
            f"MoU {i}",
            parties=[(uk, "party")],
            owner=manager,
            type="mou",
            stage="signed",
            signed_on=date(YEAR, 2, 10),
        )
        make_agreement(
            f"Coop {i}",
            parties=[(cn, "party")],
            owner=staff,
            type="cooperation",
            stage="signed",
            signed_on=date(YEAR, 5, 1),
            expires_on=TODAY + timedelta(days=30),
        )
        make_agreement(
            f"Last year {i}",
            owner=staff,
            type="cooperation",
            stage="signed",
            signed_on=date(YEAR - 1, 6, 1),
        )
        make_agreement(f"Draft {i}", owner=manager, stage="draft")
        make_agreement(
            f"Archived agreement {i}",
            owner=manager,
            stage="signed",
            signed_on=date(YEAR, 3, 1),
            archived_at=datetime.now(UTC),
        )
        active = make_project(
            f"Centre {i}",
            owner=manager,
            status="active",
            start_date=date(YEAR, 1, 15),
            partners=[(uk, "lead")],
        )
        make_project(f"Done {i}", owner=staff, status="completed", start_date=date(YEAR - 2, 1, 1))
        make_project(f"Planned {i}", owner=staff, status="planned")
        active.milestones.append(Milestone(title=f"Launch {i}", due_on=TODAY - timedelta(days=3)))
        talents = Indicator(kind_id=kinds["talents"].id, target=Decimal(10))
        talents.actuals.append(
            IndicatorActual(period=str(YEAR), period_end=date(YEAR, 1, 31), value=Decimal(4))
        )
        money_gbp = Indicator(kind_id=kinds["investment"].id, target=Decimal(1000), currency="GBP")
        money_gbp.actuals.append(
            IndicatorActual(
                period=str(YEAR - 1), period_end=date(YEAR - 1, 12, 31), value=Decimal(300)
            )
        )
        active.indicators += [talents, money_gbp]
        other = make_project(f"Yuan {i}", owner=staff, status="active")
        money_cny = Indicator(kind_id=kinds["investment"].id, target=Decimal(5000), currency="CNY")
        money_cny.actuals.append(
            IndicatorActual(period=str(YEAR), period_end=date(YEAR, 1, 31), value=Decimal(2500))
        )
        other.indicators.append(money_cny)
        db.session.add(
            FollowUp(title=f"Chase {i}", due_on=TODAY - timedelta(days=2), assignee_id=staff.id)
        )
    db.session.commit()


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("manager", 200), ("admin", 200)])
def test_only_managers_open_the_dashboard(app, users, role, status):
    client = app.test_client().login_as(users[role])
    assert client.get("/dashboard/").status_code == status


def test_anonymous_is_sent_to_login(client, users):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_figures_on_known_data(manager_client, users):
    populate(users)
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    assert figure(page, "fig-signed") == 2  # MoU and Coop; not last year's, not archived
    assert figure(page, "fig-projects-active") == 2
    assert figure(page, "fig-projects-completed") == 1
    assert figure(page, "fig-projects-started") == 1
    assert figure(page, "fig-expiring") == 1
    statuses = re.search(r'id="fig-partner-statuses">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r'data-figure="(\d+)"', statuses) == ["1", "2", "1", "0"]
    # Previous period (last year): one agreement signed.
    assert 'data-figure="1">1</a>' in re.search(
        r'id="fig-signed-previous".*?</div>', page, re.S
    ).group(0)
    # Indicators: talents 4 of 10; money per currency, never summed across.
    talents = re.search(r'<tr data-indicator="talents">.*?</tr>', page, re.S).group(0)
    assert re.search(r"data-actual-period>4<", talents) and re.search(r"data-target>10<", talents)
    gbp = re.search(
        r'<tr data-indicator="investment" data-currency="GBP">.*?</tr>', page, re.S
    ).group(0)
    assert "data-actual-period>0.00<" in gbp and "data-actual>300.00<" in gbp
    assert "data-target>1,000.00<" in gbp
    cny = re.search(
        r'<tr data-indicator="investment" data-currency="CNY">.*?</tr>', page, re.S
    ).group(0)
    assert "data-actual-period>2,500.00<" in cny and "data-target>5,000.00<" in cny
    assert "3,300" not in page and "6,000" not in page
    # Lists
    assert "Launch 0" in page and "Chase 0" in page and "Coop 0" in page
    # Charts carry their numbers and drill-down URLs as JSON for dashboard.js.
    assert 'id="dashboard-charts"' in page and "chart-signed-per-quarter" in page


def test_every_drill_down_count_equals_its_figure(manager_client, users):
    populate(users, 2)
    for query in (
        PERIOD,
        {**PERIOD, "owner": users["staff"].id},
        {**PERIOD, "kind": "company", "country": "CN"},
    ):
        page = manager_client.get("/dashboard/", query_string=query).text
        links = drills(page)
        assert len(links) > 20
        mismatches = [
            (url, value, count)
            for url, value in links
            if (count := list_count(manager_client, url)) != value
        ]
        assert mismatches == []
        assert any(value > 0 for _, value in links)


def test_chart_points_lead_to_lists_with_their_counts(manager_client, users):
    import json

    populate(users, 2)
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    raw = re.search(
        r'<script type="application/json" id="dashboard-charts">(.*?)</script>', page, re.S
    )
    charts = json.loads(unescape(raw.group(1)) if "&#34;" in raw.group(1) else raw.group(1))
    assert {c["id"] for c in charts} >= {
        "chart-signed-per-quarter",
        "chart-agreements-by-stage",
        "chart-partners-by-kind",
        "chart-projects-by-status",
    }
    checked = 0
    for chart in charts:
        for trace in chart["traces"]:
            for value, url in zip(trace["y"], trace["customdata"], strict=True):
                if url and value:
                    assert list_count(manager_client, url) == value, url
                    checked += 1
    assert checked >= 8


def test_filters_change_the_figures(manager_client, users):
    populate(users)
    everyone = manager_client.get("/dashboard/", query_string=PERIOD).text
    staff_only = manager_client.get(
        "/dashboard/", query_string={**PERIOD, "owner": users["staff"].id}
    ).text
    assert figure(everyone, "fig-signed") == 2 and figure(staff_only, "fig-signed") == 1
    assert figure(staff_only, "fig-projects-active") == 1
    last_year = manager_client.get(
        "/dashboard/", query_string={"from": f"{YEAR - 1}-01-01", "to": f"{YEAR - 1}-12-31"}
    ).text
    assert figure(last_year, "fig-signed") == 1
    cn = manager_client.get("/dashboard/", query_string={**PERIOD, "country": "cn"}).text
    statuses = re.search(r'id="fig-partner-statuses">(.*?)</ul>', cn, re.S).group(1)
    assert re.findall(r'data-figure="(\d+)"', statuses) == ["1", "1", "0", "0"]
    bad = manager_client.get("/dashboard/", query_string={"from": "nonsense", "kind": "x"})
    assert bad.status_code == 200 and "was not understood" in bad.text


def test_statement_count_does_not_grow_with_the_data(app, manager_client, users):
    populate(users, 1)
    manager_client.get("/dashboard/")
    with count_statements(app) as few:
        assert manager_client.get("/dashboard/").status_code == 200
    populate(users, 15)
    with count_statements(app) as many:
        assert manager_client.get("/dashboard/").status_code == 200
    assert few.count == many.count, many
    assert few.count <= 25, few


def test_plotly_is_served_by_the_app(app, manager_client, staff_client, users):
    page = manager_client.get("/dashboard/").text
    src = re.search(r'<script src="([^"]*plotly[^"]*)"', page).group(1)
    assert src.startswith("/dashboard/plotly.min.js")
    assert "cdn" not in page.lower()
    response = staff_client.get(src)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert b"plotly" in response.data[:2000].lower() and len(response.data) > 1_000_000
    response.close()
    # Outside a session the long cache header stands (signed in, security.py says no-store).
    anonymous = app.test_client().get(src)
    assert anonymous.status_code == 200 and anonymous.cache_control.max_age >= 30 * 24 * 3600
    anonymous.close()
    script = staff_client.get("/static/dashboard.js")
    assert script.status_code == 200 and b"plotly_click" in script.data
    script.close()


def test_no_inline_script(manager_client, users):
    page = manager_client.get("/dashboard/").text
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
