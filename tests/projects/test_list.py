"""The project list: filters in the URL, sorting, keyset paging, archived records, and a
fixed number of SQL statements on the list and detail pages."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.db import db
from crm.projects.models import Indicator, IndicatorActual, Milestone, Project, ProjectPartner
from tests.factories import (
    indicator_kinds,
    make_agreement,
    make_partner,
    make_project,
    make_user,
)
from tests.querycount import count_statements


def names(page: str) -> list[str]:
    """Project names in list order."""
    body = page.split('id="project-list"')[1].split("</table>")[0]
    return re.findall(r'<a href="/projects/\d+">([^<]*)</a>', body)


@pytest.fixture
def projects(app, users):
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心")
    oxford = make_partner("Oxford International Education Group")
    agreement = make_agreement("Taizhou Bay cooperation agreement")
    made = {
        "center": make_project(
            "Taizhou Bay China-UK Innovation Center",
            name_zh="台州湾中英创新中心",
            status="active",
            start_date=date(2021, 5, 17),
            owner=users["staff"],
            partners=[(ukiic, "lead")],
            agreements=[agreement],
        ),
        "talent": make_project(
            "Young talents gather in Taizhou",
            status="planned",
            start_date=date(2022, 1, 1),
            owner=users["manager"],
            partners=[(ukiic, "participant")],
        ),
        "oxford": make_project(
            "Industry-university-research ecology",
            status="on_hold",
            start_date=date(2020, 9, 1),
            partners=[(oxford, "host")],
        ),
        "undated": make_project("Bridge between two countries", status="completed"),
        "gone": make_project(
            "Archived exchange",
            status="active",
            start_date=date(2021, 6, 1),
            partners=[(ukiic, "funder")],
            agreements=[agreement],
        ),
    }
    made["gone"].archive(None)
    db.session.commit()
    return {**made, "ukiic": ukiic, "oxford_group": oxford, "agreement": agreement}


def test_default_list_sorted_by_name_without_archived(staff_client, projects):
    page = staff_client.get("/projects/").text
    assert names(page) == [
        "Bridge between two countries",
        "Industry-university-research ecology",
        "Taizhou Bay China-UK Innovation Center",
        "Young talents gather in Taizhou",
    ]
    # Partners show on each row with their role.
    assert 'UKIIC</a> <span class="text-muted">(Lead)</span>' in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=active", ["Taizhou Bay China-UK Innovation Center"]),
        (
            "status=planned&status=on_hold",
            ["Industry-university-research ecology", "Young talents gather in Taizhou"],
        ),
        (
            "q=taizhou",
            ["Taizhou Bay China-UK Innovation Center", "Young talents gather in Taizhou"],
        ),
        ("q=台州", ["Taizhou Bay China-UK Innovation Center"]),
        (
            "started_from=2021-01-01",
            ["Taizhou Bay China-UK Innovation Center", "Young talents gather in Taizhou"],
        ),
        (
            "started_to=2021-05-17",
            ["Industry-university-research ecology", "Taizhou Bay China-UK Innovation Center"],
        ),
        (
            "started_from=2021-01-01&started_to=2021-12-31",
            ["Taizhou Bay China-UK Innovation Center"],
        ),
        ("archived=only", ["Archived exchange"]),
    ],
)
def test_filters(staff_client, projects, query, expected):
    assert names(staff_client.get(f"/projects/?{query}").text) == expected


def test_partner_filter(staff_client, projects):
    page = staff_client.get(f"/projects/?partner={projects['ukiic'].id}").text
    assert names(page) == [
        "Taizhou Bay China-UK Innovation Center",
        "Young talents gather in Taizhou",
    ]
    page = staff_client.get(f"/projects/?partner={projects['ukiic'].id}&archived=all").text
    assert "Archived exchange" in names(page)
    page = staff_client.get(f"/projects/?partner={projects['oxford_group'].id}").text
    assert names(page) == ["Industry-university-research ecology"]


def test_agreement_filter(staff_client, projects):
    page = staff_client.get(f"/projects/?agreement={projects['agreement'].id}").text
    assert names(page) == ["Taizhou Bay China-UK Innovation Center"]
    page = staff_client.get(f"/projects/?agreement={projects['agreement'].id}&archived=all").text
    assert names(page) == ["Archived exchange", "Taizhou Bay China-UK Innovation Center"]


def test_owner_filter(staff_client, users, projects):
    page = staff_client.get(f"/projects/?owner={users['manager'].id}").text
    assert names(page) == ["Young talents gather in Taizhou"]


def test_archived_shown_when_asked(staff_client, projects):
    page = staff_client.get("/projects/?archived=all").text
    assert len(names(page)) == 5
    assert "Archived</span>" in page


@pytest.mark.parametrize(
    "query, name",
    [
        ("started_from=2021-02-30", "started_from"),
        ("started_to=yesterday", "started_to"),
        ("status=dreaming", "status"),
        ("partner=abc", "partner"),
        ("partner=99999999999999999999", "partner"),
        ("agreement=-3", "agreement"),
        ("owner=%C2%B2", "owner"),
        ("archived=maybe", "archived"),
    ],
)
def test_bad_filters_are_ignored_with_a_message(staff_client, projects, query, name):
    response = staff_client.get(f"/projects/?{query}")
    assert response.status_code == 200
    assert f"The filter {name} = " in response.text
    assert "was not understood and is ignored." in response.text
    assert len(names(response.text)) == 4


def cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage",
    "%%%",
    cursor([]),
    cursor(["x"]),
    cursor([1, 2, 3]),
    cursor(["x\u0000", 1]),
    cursor([{"dt": "2021-01-01T00:00:00"}, 1]),
    cursor([{"d": "2021-02-30"}, 1]),
    cursor(["active", {"d": "2021-01-01"}, 10**30]),
    cursor([True, 1]),
    cursor([1.5, 2]),
    cursor([{"n": "1"}, 1]),
    cursor([None, 1]),
    cursor({"a": 1}),
]


@pytest.mark.parametrize("value", BAD_CURSORS)
def test_hand_made_cursors_give_the_first_page(staff_client, projects, value):
    for sort in ("name", "start", "status", "updated"):
        for way in ("after", "before"):
            response = staff_client.get(f"/projects/?sort={sort}&{way}={value}")
            assert response.status_code == 200
            assert len(names(response.text)) == 4


@pytest.mark.parametrize(
    "sort, direction, expected",
    [
        (
            "start",
            "asc",
            [
                "Industry-university-research ecology",
                "Taizhou Bay China-UK Innovation Center",
                "Young talents gather in Taizhou",
                "Bridge between two countries",
            ],
        ),
        (
            "start",
            "desc",
            [
                "Bridge between two countries",
                "Young talents gather in Taizhou",
                "Taizhou Bay China-UK Innovation Center",
                "Industry-university-research ecology",
            ],
        ),
        (
            "status",
            "asc",
            [
                "Taizhou Bay China-UK Innovation Center",
                "Bridge between two countries",
                "Industry-university-research ecology",
                "Young talents gather in Taizhou",
            ],
        ),
        (
            "name",
            "desc",
            [
                "Young talents gather in Taizhou",
                "Taizhou Bay China-UK Innovation Center",
                "Industry-university-research ecology",
                "Bridge between two countries",
            ],
        ),
    ],
)
def test_sorting(staff_client, projects, sort, direction, expected):
    assert names(staff_client.get(f"/projects/?sort={sort}&dir={direction}").text) == expected


def test_sort_by_updated_puts_the_latest_change_first(staff_client, projects):
    projects["oxford"].description = "changed"
    db.session.commit()
    assert names(staff_client.get("/projects/?sort=updated").text)[0] == (
        "Industry-university-research ecology"
    )


@pytest.mark.parametrize("sort", ["name", "start", "status", "updated"])
def test_keyset_paging_walks_every_row_once_in_order(make_app, sort):
    app = make_app(PAGE_SIZE=5)
    with app.app_context():
        user = make_user("staff")
        start = date(2020, 1, 1)
        statuses = ["planned", "active", "on_hold", "completed", "cancelled"]
        for n in range(23):
            make_project(
                f"Project {n:02d}",
                status=statuses[n % 5],
                # Some share a start date and some have none: ties are broken by id.
                start_date=None if n % 7 == 0 else start + timedelta(days=n // 3),
            )
        db.session.commit()
        expected_rows = db.session.scalars(select(Project)).all()
        key = {
            "name": lambda p: (p.sort_name, p.id),
            "start": lambda p: (p.start_sort, p.id),
            "status": lambda p: (p.status, p.start_sort, p.id),
            "updated": lambda p: (p.updated_at, p.id),
        }[sort]
        desc = sort == "updated"
        expected = [p.name for p in sorted(expected_rows, key=key, reverse=desc)]
        client = app.test_client().login_as(user)
        seen, url, pages = [], f"/projects/?sort={sort}", 0
        while url and pages < 10:
            page = client.get(url).text
            rows = names(page)
            assert len(rows) <= 5
            seen += rows
            pages += 1
            match = re.search(r'<a class="page-link" rel="next" href="([^"#]+)"', page)
            url = match.group(1).replace("&amp;", "&") if match else None
        assert pages == 5
        assert seen == expected
        # And back: "previous" from the last page gives the page before it.
        match = re.search(r'<a class="page-link" rel="prev" href="([^"#]+)"', page)
        assert match
        before = names(client.get(match.group(1).replace("&amp;", "&")).text)
        assert before == expected[15:20]


def _list_statements(app, client, url="/projects/"):
    with count_statements(app) as log:
        response = client.get(url)
    assert response.status_code == 200
    return log.count


def test_list_issues_the_same_statements_for_10_and_200_projects(app, users):
    client = app.test_client().login_as(users["staff"])
    partners = [make_partner(f"Partner {n}") for n in range(3)]

    def add(count):
        for n in range(count):
            make_project(
                f"P {n}", partners=[(p, "participant") for p in partners], owner=users["staff"]
            )
        db.session.commit()

    add(10)
    client.get("/projects/")  # warm up: first-request work is not counted
    at_10 = _list_statements(app, client)
    add(190)
    at_200 = _list_statements(app, client)
    assert at_10 == at_200, (at_10, at_200)
    assert at_200 <= 6


def test_detail_issues_the_same_statements_for_10_and_200_rows(app, users):
    client = app.test_client().login_as(users["staff"])
    kinds = list(indicator_kinds().values())
    agreement = make_agreement("Source agreement")
    project = make_project("Counted", agreements=[agreement], owner=users["staff"])

    def grow(count):
        for n in range(count):
            partner = make_partner(f"Member {project.id}-{len(project.partners)}")
            project.partners.append(ProjectPartner(partner_id=partner.id, role="participant"))
            project.milestones.append(
                Milestone(title=f"Step {n}", due_on=date(2020, 1, 1) + timedelta(days=n))
            )
        for kind in kinds:
            indicator = next((i for i in project.indicators if i.kind_id == kind.id), None)
            if indicator is None:
                indicator = Indicator(
                    kind_id=kind.id, target=Decimal(1000), currency="CNY" if kind.is_money else None
                )
                project.indicators.append(indicator)
            start = len(indicator.actuals)
            for n in range(start, start + count):
                indicator.actuals.append(
                    IndicatorActual(
                        period=f"P{n}",
                        period_end=date(2000, 1, 1) + timedelta(days=n),
                        value=Decimal(1),
                    )
                )
        db.session.commit()

    grow(10)
    url = f"/projects/{project.id}"
    client.get(url)
    at_10 = _list_statements(app, client, url)
    grow(190)
    at_200 = _list_statements(app, client, url)
    assert db.session.scalar(select(Project)).milestones.__len__() == 200
    assert at_10 == at_200, (at_10, at_200)
    # 7 for the project and its rows, the rest for the timeline (activities, follow-ups,
    # milestones, changes) and the signed-in user.
    assert at_200 <= 14


@pytest.mark.parametrize(
    "name",
    [
        "q",
        "status",
        "owner",
        "partner",
        "agreement",
        "started_from",
        "started_to",
        "archived",
        "sort",
        "dir",
    ],
)
def test_hostile_list_arguments_never_fail(staff_client, projects, name):
    for value in ["\x00", "9" * 40, "-1", "²", "%", "_", "\\", "<x>", "台州", "9999-12-31"]:
        response = staff_client.get("/projects/", query_string={name: value})
        assert response.status_code == 200, (name, value)
    lookup = staff_client.get("/projects/lookup", query_string={"q": "\x00%_台"})
    assert lookup.status_code == 200
