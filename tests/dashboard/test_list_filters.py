"""The list filters the dashboard drills down to: partner kind and country on agreements,
projects, activities and follow-ups (one partner meeting both), projects that ran or
ended in a period or carry an indicator, the milestones list, and partners active."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from crm.activities.models import FollowUp
from crm.db import db
from crm.projects.models import Indicator, IndicatorActual, Milestone
from tests.dashboard.test_dashboard import PERIOD, figure, list_count, log_activity, populate
from tests.factories import indicator_kinds, make_agreement, make_partner, make_project

TODAY = date.today()


def test_agreements_by_party_kind_and_country_on_one_partner(staff_client, users):
    uni = make_partner("Uni", kind="university", country="GB")
    firm = make_partner("Firm", kind="company", country="CN")
    make_agreement("Both", parties=[(uni, "party"), (firm, "party")])
    make_agreement("Uni only", parties=[(uni, "party")])
    db.session.commit()
    count = lambda q: list_count(staff_client, f"/agreements/?{q}")  # noqa: E731
    assert count("partner_kind=university") == 2
    assert count("partner_country=CN") == 1
    # Both filters: one and the same party must be a university in China: none is.
    assert count("partner_kind=university&partner_country=CN") == 0
    assert count("partner_kind=university&partner_country=gb") == 2
    assert count(f"partner={uni.id}&partner={firm.id}") == 1
    page = staff_client.get("/agreements/?partner_kind=planet&partner_country=Narnia").text
    assert page.count("was not understood") == 2


def test_projects_ran_ended_and_indicator_filters(staff_client, users):
    kinds = indicator_kinds()
    ran = make_project(
        "Ran", status="completed", start_date=date(2020, 1, 1), end_date=date(2021, 6, 30)
    )
    make_project("Later", status="active", start_date=date(2022, 1, 1))
    make_project("Undated", status="active")
    money = Indicator(kind_id=kinds["investment"].id, target=Decimal(100), currency="GBP")
    money.actuals.append(
        IndicatorActual(period="2021", period_end=date(2021, 12, 31), value=Decimal(5))
    )
    ran.indicators.append(money)
    db.session.commit()
    count = lambda q: list_count(staff_client, f"/projects/?{q}")  # noqa: E731
    assert count("running_from=2021-01-01&running_to=2021-12-31") == 1
    assert count("running_from=2022-01-01") == 2  # Later, Undated (no end date)
    assert count("ended_from=2021-01-01&ended_to=2021-12-31") == 1
    assert count("indicator=investment") == 1
    assert count("indicator=investment&indicator_currency=GBP") == 1
    assert count("indicator=investment&indicator_currency=CNY") == 0
    assert count("indicator=investment&reported_from=2021-01-01&reported_to=2021-12-31") == 1
    assert count("indicator=investment&reported_from=2022-01-01") == 0
    page = staff_client.get("/projects/?reported_from=2021-01-01").text
    assert "was not understood" in page  # a report period needs an indicator
    assert "Investment attracted" in staff_client.get("/projects/?indicator=investment").text


def test_follow_ups_filters_and_count(staff_client, users):
    gov = make_partner("Gov", kind="government", country="CN")
    deal = make_agreement("Deal", parties=[(gov, "party")])
    for title, due, about in (
        ("Late about gov", TODAY - timedelta(days=3), {"partner_id": gov.id}),
        ("Late about deal", TODAY - timedelta(days=1), {"agreement_id": deal.id}),
        ("Soon", TODAY + timedelta(days=3), {}),
    ):
        db.session.add(FollowUp(title=title, due_on=due, assignee_id=users["staff"].id, **about))
    db.session.commit()
    assert list_count(staff_client, "/follow-ups/?assignee=all") == 3
    assert list_count(staff_client, "/follow-ups/?assignee=all&overdue=1") == 2
    assert list_count(staff_client, "/follow-ups/?assignee=all&partner_kind=government") == 2
    assert list_count(staff_client, "/follow-ups/?assignee=all&partner_country=GB") == 0
    page = staff_client.get("/follow-ups/?assignee=all&overdue=yes").text
    assert "was not understood" in page


def test_milestones_list(staff_client, users):
    uni = make_partner("Uni", kind="university", country="GB")
    project = make_project("P", owner=users["staff"], partners=[(uni, "lead")])
    project.milestones += [
        Milestone(title="Late", due_on=TODAY - timedelta(days=5)),
        Milestone(title="Soon", due_on=TODAY + timedelta(days=5)),
        Milestone(title="Done", due_on=TODAY - timedelta(days=9), done_on=TODAY),
    ]
    db.session.commit()
    count = lambda q: list_count(staff_client, f"/dashboard/milestones?{q}")  # noqa: E731
    assert count("") == 3
    assert count("open=1") == 2
    assert count(f"open=1&due_to={TODAY - timedelta(days=1)}") == 1
    assert count("partner_kind=university&partner_country=GB") == 3
    assert count("partner_kind=company") == 0
    assert count(f"owner={users['manager'].id}") == 0
    page = staff_client.get("/dashboard/milestones?open=1").text
    assert "<td>Late</td>" in page and "overdue" in page and "<td>Done</td>" not in page


def test_partners_active_filter(staff_client, users):
    met = make_partner("Met")
    signed = make_partner("Signed")
    make_partner("Quiet")
    log_activity("Visit", datetime(2021, 3, 1, 9, tzinfo=UTC), partners=[met])
    make_agreement("Deal", parties=[(signed, "party")], stage="signed", signed_on=date(2021, 5, 1))
    db.session.commit()
    assert list_count(staff_client, "/partners/?active=2021-01-01..2021-12-31") == 2
    assert list_count(staff_client, "/partners/?active=2021-04-01..2021-12-31") == 1
    assert "was not understood" in staff_client.get("/partners/?active=2021").text


def test_dashboard_kind_and_country_apply_to_every_figure(manager_client, users):
    populate(users)
    everyone = manager_client.get("/dashboard/", query_string=PERIOD).text
    uni = manager_client.get("/dashboard/", query_string={**PERIOD, "kind": "university"}).text
    # Agreements with a university party: the MoU only; projects with one: Centre.
    assert figure(everyone, "fig-signed") == 2 and figure(uni, "fig-signed") == 1
    assert figure(uni, "fig-projects-active") == 1
    assert figure(uni, "fig-active-partners") == 1
    assert figure(uni, "fig-milestones-overdue") == 1  # Centre's launch
    assert figure(uni, "fig-follow-ups-overdue") == 0  # "Chase" is about no partner
    assert figure(everyone, "fig-follow-ups-overdue") == 1
    talents = re.search(r'<tr data-indicator="talents">.*?</tr>', uni, re.S).group(0)
    assert "data-actual-period>4<" in talents  # Centre carries it
    cny = re.search(r'<tr data-indicator="investment" data-currency="CNY">', uni)
    assert cny is None  # Yuan has no university partner
    assert 'id="filters-note"' in uni and "partner figures only" not in uni
