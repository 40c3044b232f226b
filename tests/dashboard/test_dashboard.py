"""The managers' dashboard: who may open it, figures on known data, drill-down counts equal
to the figures, filters, a fixed number of statements, and plotly served by the app."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html import unescape

import pytest

from crm.activities.models import Activity, ActivityPartner, FollowUp
from crm.dashboard.cache import app_cache
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
# An activity time inside the current year and within the last 180 days.
RECENT = datetime.combine(max(TODAY - timedelta(days=10), date(YEAR, 1, 1)), time(9), UTC)
SILENT = datetime.combine(TODAY - timedelta(days=200), time(9), UTC)


def log_activity(title, when, owner=None, partners=()):
    activity = Activity(
        title=title, kind="meeting", occurred_at=when, owner_id=owner.id if owner else None
    )
    for partner in partners:
        activity.partner_links.append(ActivityPartner(partner_id=partner.id, occurred_at=when))
    db.session.add(activity)
    return activity


def figure(page: str, element_id: str) -> int:
    """The number shown in the element with this id (its drill-down link's data-figure)."""
    match = re.search(
        rf'id="{element_id}"[^>]*>\s*<a href="[^"]*" data-drill data-figure="(\d+)"', page
    )
    assert match, f"no linked figure {element_id}"
    return int(match.group(1))


def previous(page: str, element_id: str) -> int:
    """The previous period's figure shown under a headline figure."""
    block = re.search(rf'id="{element_id}-previous".*?</div>', page, re.S).group(0)
    return drills(block)[0][1]


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
        make_partner(
            f"Old {i}",
            kind="company",
            country="CN",
            status="dormant",
            owner=staff,
            created_at=datetime(YEAR - 1, 6, 1, 12, tzinfo=UTC),
        )
        # UK uni heard from lately; CN gov silent for 200 days: going cold.
        log_activity(f"Visit {i}", RECENT, manager, [uk])
        log_activity(f"Call {i}", SILENT, staff, [cn])
        make_agreement(
            f"Notice {i}",
            owner=staff,
            stage="signed",
            expires_on=TODAY + timedelta(days=120),
            notice_days=60,
        )
        make_agreement(
            f"Rolling {i}",
            owner=staff,
            stage="signed",
            auto_renew=True,
            effective_from=TODAY - timedelta(days=700),
            expires_on=TODAY - timedelta(days=336),
        )
        make_agreement(
            f"Far {i}",
            owner=staff,
            stage="signed",
            expires_on=TODAY + timedelta(days=400),
            notice_days=30,
        )
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
        make_project(
            f"Done {i}",
            owner=staff,
            status="completed",
            start_date=date(YEAR - 2, 1, 1),
            end_date=date(YEAR, 1, 1),
        )
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
    # Ran in the period: Centre (active) and Done (completed on 1 January); not Yuan (no
    # start date), not Planned. Last year only Done ran.
    assert figure(page, "fig-projects-active") == 2
    assert previous(page, "fig-projects-active") == 1
    assert figure(page, "fig-projects-active-today") == 2  # Centre and Yuan
    assert figure(page, "fig-projects-completed") == 1
    assert previous(page, "fig-projects-completed") == 0
    assert figure(page, "fig-projects-started") == 1
    # Active: UK uni (a visit, the MoU) and CN gov (the Coop); last year CN gov's call
    # counts only when 200 days ago fell in last year.
    assert figure(page, "fig-active-partners") == 2
    assert previous(page, "fig-active-partners") == (1 if SILENT.year == YEAR - 1 else 0)
    assert figure(page, "fig-expiring") == 1
    statuses = re.search(r'id="fig-partner-statuses">(.*?)</ul>', page, re.S).group(1)
    # prospect, active, dormant (No country and last year's Old), inactive
    assert re.findall(r'data-figure="(\d+)"', statuses) == ["1", "2", "2", "0"]
    # Previous period (last year): one agreement signed.
    assert previous(page, "fig-signed") == 1
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
        {**PERIOD, "kind": "university"},
        {**PERIOD, "country": "CN", "owner": users["staff"].id},
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
        if not chart.get("counts"):
            continue  # indicator charts: bars are sums (their projects are checked below)
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
    assert re.findall(r'data-figure="(\d+)"', statuses) == ["1", "1", "1", "0"]
    bad = manager_client.get("/dashboard/", query_string={"from": "nonsense", "kind": "x"})
    assert bad.status_code == 200 and "was not understood" in bad.text


def test_statement_count_does_not_grow_with_the_data(app, manager_client, users):
    """Cold (cache cleared) and cached, at 1 and at 16 copies of the data: same counts."""
    manager_client.get("/dashboard/")  # the app's first request checks for a first user
    counts = []
    for n in (1, 15):
        populate(users, n)
        app_cache(app).clear()
        with count_statements(app) as cold:
            assert manager_client.get("/dashboard/").status_code == 200
        with count_statements(app) as cached:
            assert manager_client.get("/dashboard/").status_code == 200
        counts.append((cold, cached))
    (few, few_cached), (many, many_cached) = counts
    assert few.count == many.count, many
    assert few_cached.count == many_cached.count, many_cached
    assert few.count <= 25, few
    assert few_cached.count < few.count - 10, few_cached


def test_cache_is_cleared_by_writes(app, manager_client, users):
    populate(users)
    first = manager_client.get("/dashboard/", query_string=PERIOD).text
    with count_statements(app) as cached:
        again = manager_client.get("/dashboard/", query_string=PERIOD).text
    assert figure(again, "fig-new-partners") == figure(first, "fig-new-partners")
    assert cached.count <= 5, cached
    # A write through the ORM session clears the cache: the next page shows it.
    make_partner("Brand new", kind="company", country="GB", status="active")
    db.session.commit()
    with count_statements(app) as cold:
        after = manager_client.get("/dashboard/", query_string=PERIOD).text
    assert cold.count > cached.count
    assert figure(after, "fig-new-partners") == figure(first, "fig-new-partners") + 1
    # So does a write made through the web.
    manager_client.get("/dashboard/", query_string=PERIOD)
    partner = make_partner("To archive", status="active")
    db.session.commit()
    before = figure(manager_client.get("/dashboard/", query_string=PERIOD).text, "fig-new-partners")
    response = manager_client.post_form(f"/partners/{partner.id}/archive")
    assert response.status_code in (200, 302, 303), response.status_code
    later = figure(manager_client.get("/dashboard/", query_string=PERIOD).text, "fig-new-partners")
    assert later == before - 1


def test_new_partners_and_their_list(manager_client, users):
    populate(users, 2)
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    assert figure(page, "fig-new-partners") == 8  # UK, CN, Prospect, No country; not archived
    previous = re.search(r'id="fig-new-partners-previous".*?</div>', page, re.S).group(0)
    href, value = drills(previous)[0]
    assert value == 2 and "created_from" in href
    assert list_count(manager_client, href) == 2
    listed = manager_client.get(href).text
    assert "Old 0" in listed and "UK uni 0" not in listed
    # The filters survive the list's own filter form.
    assert 'name="created_from"' in listed and 'name="created_to"' in listed
    bad = manager_client.get("/partners/", query_string={"created_from": "soon"}).text
    assert "was not understood" in bad


def test_going_cold(manager_client, users):
    populate(users, 2)
    # A partner never contacted comes first; one heard from 181 days ago is cold too.
    never = make_partner("Never met", status="active")
    edge = make_partner("Edge", status="active")
    log_activity("Long ago", datetime.now(UTC) - timedelta(days=181), partners=[edge])
    fresh = make_partner("Fresh", status="active")
    log_activity("Just now", datetime.now(UTC) - timedelta(days=179), partners=[fresh])
    db.session.commit()
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    cold = re.search(r'id="fig-going-cold" data-figure="(\d+)"', page)
    assert int(cold.group(1)) == 4  # CN gov x2, Never met, Edge
    ids = re.findall(r'data-partner="(\d+)"', page)
    assert ids[0] == str(never.id) and str(edge.id) in ids and str(fresh.id) not in ids
    assert "UK uni 0" not in re.search(r'id="list-going-cold".*?</ul>', page, re.S).group(0)
    assert f"Last activity {SILENT.date()}" in page
    staff_only = manager_client.get(
        "/dashboard/", query_string={**PERIOD, "owner": users["staff"].id}
    ).text
    assert re.search(r'id="fig-going-cold" data-figure="2"', staff_only)


def test_activities_per_staff_member(manager_client, users):
    populate(users, 2)
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    table = re.search(r'id="table-activities-per-staff".*?</table>', page, re.S).group(0)
    rows = drills(table)
    silent_in_year = SILENT.year == YEAR
    expected = {users["manager"].id: 2, users["staff"].id: 2 if silent_in_year else 0}
    for url, value in rows:
        owner = int(re.search(r"owner=(\d+)", url).group(1))
        assert value == expected[owner], url
        assert list_count(manager_client, url) == value
    assert figure(page, "fig-activities") == sum(expected.values())
    assert list_count(
        manager_client,
        drills(re.search(r'id="fig-activities".*?</span>', page, re.S).group(0))[0][0],
    ) == sum(expected.values())


def test_notice_deadlines_and_expiries(manager_client, users):
    from crm.agreements.models import Agreement

    populate(users)
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    listed = re.search(r'id="list-deadlines".*?</ul>', page, re.S).group(0)
    for title in ("Coop 0", "Notice 0", "Rolling 0"):
        assert title in listed, title
    assert "Far 0" not in listed and "MoU 0" not in listed
    notice = db.session.scalar(db.select(Agreement).where(Agreement.title == "Notice 0"))
    rolling = db.session.scalar(db.select(Agreement).where(Agreement.title == "Rolling 0"))
    assert f"Notice by {notice.notice_deadline(TODAY)}" in listed
    assert f"Expires {rolling.current_term_end(TODAY)}" in listed
    assert re.search(r'id="fig-deadlines">3<', page)
    # Soonest first: Rolling (29 days), Coop (30), Notice (notice in 60).
    order = re.findall(r">(Rolling 0|Coop 0|Notice 0)</a>", listed)
    assert order == ["Rolling 0", "Coop 0", "Notice 0"]
    # The recorded-expiry figure keeps its drill-down (Coop only).
    assert figure(page, "fig-expiring") == 1


def test_plotly_is_served_by_the_app(app, manager_client, staff_client, users):
    page = manager_client.get("/dashboard/").text
    src = re.search(r'<script src="([^"]*plotly[^"]*)"', page).group(1)
    assert src.startswith("/dashboard/plotly.min.js")
    # Nothing is loaded from another host (a bare "cdn" could occur in a random token).
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
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


@pytest.mark.parametrize(
    ("query", "name"),
    [("from=0001-01-01", "from"), ("from=9999-12-31", "from"), ("to=9999-12-31", "to")],
)
def test_a_period_at_the_ends_of_the_calendar_is_ignored_not_a_500(manager_client, query, name):
    # Found in review: the previous period (a day before 0001-01-01) or a day after
    # 9999-12-31 overflowed Python's date and answered 500.
    response = manager_client.get(f"/dashboard/?{query}")
    assert response.status_code == 200
    assert f"The filter {name} = " in response.text
