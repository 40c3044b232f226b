"""Project pages: create from an agreement, edit rows, stale edits, bad input, the detail
page's targets against actuals, archive and restore, the picker lookup."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from crm.db import db
from crm.projects.models import (
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Milestone,
    Project,
    ProjectPartner,
    project_agreement,
)
from tests.factories import (
    indicator_kinds,
    make_agreement,
    make_partner,
    make_project,
    make_user,
)


def counts():
    tables = (Project, ProjectPartner, Milestone, Indicator, IndicatorActual)
    numbers = [db.session.scalar(select(func.count()).select_from(t)) for t in tables]
    numbers.append(db.session.scalar(select(func.count()).select_from(project_agreement)))
    return tuple(numbers)


@pytest.fixture
def story(app):
    """The seed story: the Taizhou Bay agreement between the new area, UKIIC and Ekoo."""
    kinds = indicator_kinds()
    committee = make_partner(
        "Management Committee of Taizhou Bay New Area",
        name_zh="台州湾新区管委会",
        kind="government",
    )
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心", kind="accelerator")
    ekoo = make_partner("Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd")
    agreement = make_agreement(
        "Cooperation agreement on the Sino-British Innovation Center in Taizhou Bay",
        parties=[(committee, "host"), (ukiic, "operator"), (ekoo, "party")],
        stage="signed",
        signed_on=date(2021, 5, 17),
    )
    db.session.commit()
    return {
        "kinds": kinds,
        "committee": committee,
        "ukiic": ukiic,
        "ekoo": ekoo,
        "agreement": agreement,
    }


def story_form(story, **changes):
    kinds = story["kinds"]
    data = {
        "name": "Taizhou Bay China-UK Innovation Center",
        "name_zh": "台州湾中英创新中心",
        "status": "active",
        "start_date": "2021-05-17",
        "end_date": "2026-05-16",
        "budget_amount": "5000000.00",
        "budget_currency": "CNY",
        "owner": "0",
        "description": "Attract talents and investment to Taizhou Bay New Area.",
        "agreement_links-0-agreement": str(story["agreement"].id),
        "agreement_links-0-agreement__label": "Cooperation agreement",
        "partners-0-partner": str(story["ukiic"].id),
        "partners-0-role": "lead",
        "partners-1-partner": str(story["committee"].id),
        "partners-1-role": "host",
        "partners-2-partner": str(story["ekoo"].id),
        "partners-2-role": "participant",
        "milestones-0-title": "Cooperation agreement signed",
        "milestones-0-due_on": "2021-05-17",
        "milestones-0-done_on": "2021-05-17",
        "milestones-1-title": "Centre opens in Taizhou Bay New Area",
        "milestones-1-due_on": "2021-12-31",
        "indicators-0-kind_id": str(kinds["talents"].id),
        "indicators-0-target": "100",
        "indicators-1-kind_id": str(kinds["enterprises_introduced"].id),
        "indicators-1-target": "20",
        "indicators-2-kind_id": str(kinds["investment"].id),
        "indicators-2-target": "50000000",
        "indicators-2-currency": "CNY",
        "actuals-0-kind_id": str(kinds["talents"].id),
        "actuals-0-period": "2021",
        "actuals-0-value": "12",
        "actuals-1-kind_id": str(kinds["talents"].id),
        "actuals-1-period": "2022-q1",
        "actuals-1-value": "5",
        "actuals-2-kind_id": str(kinds["investment"].id),
        "actuals-2-period": "2021",
        "actuals-2-value": "8000000.50",
        "actuals-3-kind_id": str(kinds["enterprises_introduced"].id),
        "actuals-3-period": "Launch year",
        "actuals-3-period_end": "2022-05-16",
        "actuals-3-value": "3",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def the_project() -> Project:
    db.session.expire_all()
    return db.session.scalar(select(Project))


def test_create_the_taizhou_bay_project_in_one_post(staff_client, users, story):
    response = staff_client.post_form("/projects/new", story_form(story))
    assert response.status_code == 302, response.text
    project = the_project()
    assert response.headers["Location"] == f"/projects/{project.id}"
    assert (project.name, project.name_zh, project.status) == (
        "Taizhou Bay China-UK Innovation Center",
        "台州湾中英创新中心",
        "active",
    )
    assert (project.start_date, project.end_date) == (date(2021, 5, 17), date(2026, 5, 16))
    assert (project.budget_amount, project.budget_currency) == (Decimal("5000000.00"), "CNY")
    assert project.owner_id == project.created_by_id == users["staff"].id
    assert [a.id for a in project.agreements] == [story["agreement"].id]
    assert [(p.partner.name_en, p.role) for p in project.partners] == [
        ("UKIIC", "lead"),
        ("Management Committee of Taizhou Bay New Area", "host"),
        ("Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd", "participant"),
    ]
    assert [(m.title, m.due_on, m.done_on) for m in project.milestones] == [
        ("Cooperation agreement signed", date(2021, 5, 17), date(2021, 5, 17)),
        ("Centre opens in Taizhou Bay New Area", date(2021, 12, 31), None),
    ]
    by_code = {i.kind.code: i for i in project.indicators}
    assert set(by_code) == {"talents", "enterprises_introduced", "investment"}
    talents = by_code["talents"]
    assert talents.target == 100 and talents.currency is None
    assert [(a.period, a.period_end, a.value) for a in talents.actuals] == [
        ("2021", date(2021, 12, 31), Decimal("12")),
        ("2022-Q1", date(2022, 3, 31), Decimal("5")),
    ]
    assert talents.actual_total == 17
    investment = by_code["investment"]
    assert (investment.target, investment.currency) == (Decimal("50000000"), "CNY")
    assert investment.actual_total == Decimal("8000000.50")
    launch = by_code["enterprises_introduced"].actuals[0]
    assert (launch.period, launch.period_end) == ("Launch year", date(2022, 5, 16))
    assert project.version_id == 1


def test_new_project_form_is_prefilled_from_an_agreement(staff_client, story):
    page = staff_client.get(f"/projects/new?agreement={story['agreement'].id}").text
    assert f'name="agreement_links-0-agreement" type="hidden" value="{story["agreement"].id}"' in (
        page
    )
    assert "Cooperation agreement on the Sino-British Innovation Center" in page
    # The parties come along in the roles they play in a project.
    assert f'value="{story["committee"].id}"' in page
    assert f'value="{story["ukiic"].id}"' in page
    assert 'name="partners-1-role"' in page
    assert counts() == (0, 0, 0, 0, 0, 0)


def test_new_project_form_is_prefilled_from_a_partner(staff_client, story):
    page = staff_client.get(f"/projects/new?partner={story['ekoo'].id}").text
    assert f'name="partners-0-partner" type="hidden" value="{story["ekoo"].id}"' in page


@pytest.mark.parametrize(
    "query",
    [
        "agreement=abc",
        "agreement=99999999999999999999",
        "partner=-1",
        "partner=%C2%B2",
        "agreement=999999",
    ],
)
def test_garbage_prefill_ids_are_ignored(staff_client, story, query):
    response = staff_client.get(f"/projects/new?{query}")
    assert response.status_code == 200
    assert 'name="agreement_links-0-agreement" type="hidden" value=""' in response.text


def test_new_form_offers_the_standard_indicator_kinds(staff_client, users):
    page = staff_client.get("/projects/new").text
    kinds = db.session.scalars(select(IndicatorKind)).all()
    assert {k.code for k in kinds} == {
        "talents",
        "enterprises_introduced",
        "enterprises_incubated",
        "investment",
        "jobs",
        "ip_filed",
    }
    for kind in kinds:
        assert f'<option value="{kind.id}">' in page
    assert "Investment attracted (money)" in page


def edit_form(project, story, **changes):
    """The story's form for an edit of `project`, its rows carrying their ids."""
    changes.setdefault("version", str(project.version_id))
    data = story_form(story, **changes)
    for i, milestone in enumerate(project.milestones):
        data.setdefault(f"milestones-{i}-id", str(milestone.id))
    return {k: v for k, v in data.items() if v is not None}


def test_edit_adds_and_removes_rows(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    first_milestone = project.milestones[0].id
    kinds = story["kinds"]
    data = edit_form(
        project,
        story,
        # The Ekoo row goes, a funder comes.
        **{
            "partners-2-partner": None,
            "partners-2-role": None,
            "partners-3-partner": str(story["committee"].id),
            "partners-3-role": "funder",
            # The second milestone goes, a third comes.
            "milestones-1-title": None,
            "milestones-1-due_on": None,
            "milestones-1-id": None,
            "milestones-2-title": "First cohort of start-ups",
            "milestones-2-due_on": "2022-03-01",
            # The enterprises indicator and its actual go; jobs come, with an actual.
            "indicators-1-kind_id": None,
            "indicators-1-target": None,
            "actuals-3-kind_id": None,
            "actuals-3-period": None,
            "actuals-3-period_end": None,
            "actuals-3-value": None,
            "indicators-3-kind_id": str(kinds["jobs"].id),
            "indicators-3-target": "300",
            "actuals-4-kind_id": str(kinds["jobs"].id),
            "actuals-4-period": "2021-H2",
            "actuals-4-value": "40",
            # A talents actual is corrected.
            "actuals-0-value": "15",
        },
    )
    response = staff_client.post_form(f"/projects/{project.id}/edit", data)
    assert response.status_code == 302, response.text
    project = the_project()
    assert [(p.partner_id, p.role) for p in project.partners] == [
        (story["ukiic"].id, "lead"),
        (story["committee"].id, "host"),
        (story["committee"].id, "funder"),
    ]
    assert [m.title for m in project.milestones] == [
        "Cooperation agreement signed",
        "First cohort of start-ups",
    ]
    assert project.milestones[0].id == first_milestone
    by_code = {i.kind.code: i for i in project.indicators}
    assert set(by_code) == {"talents", "investment", "jobs"}
    assert by_code["talents"].actual_total == 20
    assert [(a.period, a.period_end) for a in by_code["jobs"].actuals] == [
        ("2021-H2", date(2021, 12, 31))
    ]
    assert db.session.scalar(select(func.count()).select_from(IndicatorActual)) == 4
    assert project.version_id == 2


def test_edit_page_shows_every_row(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    page = staff_client.get(f"/projects/{project.id}/edit").text
    assert 'value="Centre opens in Taizhou Bay New Area"' in page
    assert 'name="actuals-2-period" required type="text" value="Launch year"' in page
    assert 'value="8000000.50"' in page
    assert "Cooperation agreement on the Sino-British Innovation Center in Taizhou Bay" in page
    assert f'name="version" type="hidden" value="{project.version_id}"' in page


def test_edit_with_nothing_changed_keeps_every_row(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    before = counts()
    ids = sorted(a.id for i in project.indicators for a in i.actuals)
    response = staff_client.post_form(f"/projects/{project.id}/edit", edit_form(project, story))
    assert response.status_code == 302, response.text
    assert counts() == before
    project = the_project()
    assert sorted(a.id for i in project.indicators for a in i.actuals) == ids


def test_edit_can_remove_every_row(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    data = {"name": "Bare", "status": "planned", "owner": "0", "version": str(project.version_id)}
    response = staff_client.post_form(f"/projects/{project.id}/edit", data)
    assert response.status_code == 302, response.text
    assert counts() == (1, 0, 0, 0, 0, 0)


def test_stale_edit_is_refused_and_input_kept(app, users, story):
    first = app.test_client().login_as(users["staff"])
    second = app.test_client().login_as(users["manager"])
    first.post_form("/projects/new", story_form(story))
    project = the_project()
    loaded_at = project.version_id
    assert (
        f'name="version" type="hidden" value="{loaded_at}"'
        in first.get(f"/projects/{project.id}/edit").text
    )
    ok = second.post_form(
        f"/projects/{project.id}/edit",
        edit_form(project, story, status="on_hold", **{"milestones-0-title": "Signed!"}),
    )
    assert ok.status_code == 302
    stale = first.post_form(
        f"/projects/{project.id}/edit",
        edit_form(
            project,
            story,
            version=str(loaded_at),
            status="completed",
            **{"milestones-0-title": "Mine"},
        ),
    )
    assert stale.status_code == 200
    assert "Someone else saved this record" in stale.text
    assert 'value="Mine"' in stale.text
    assert '<option selected value="completed">' in stale.text
    project = the_project()
    assert project.status == "on_hold"
    assert project.milestones[0].title == "Signed!"
    assert project.version_id == loaded_at + 1


def test_a_change_to_rows_only_still_moves_the_version(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    data = edit_form(project, story, **{"actuals-0-value": "13"})
    assert staff_client.post_form(f"/projects/{project.id}/edit", data).status_code == 302
    assert the_project().version_id == 2
    # Posting the old version again is now refused.
    stale = staff_client.post_form(f"/projects/{project.id}/edit", data)
    assert "Someone else saved this record" in stale.text


BAD = [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "x" * 301}, "name", "Field cannot be longer than 300 characters."),
    ({"name_zh": "台" * 201}, "name_zh", "Field cannot be longer than 200 characters."),
    ({"description": "d" * 20001}, "description", "Field cannot be longer than 20000 characters."),
    ({"name": "Null\x00byte"}, "name", "Remove the control characters from this text."),
    ({"end_date": "2020-01-01"}, "end_date", "The end cannot be before the start."),
    ({"start_date": "2021-02-30"}, "start_date", "Enter a date as YYYY-MM-DD."),
    ({"status": "dreaming"}, "status", "Not a valid choice."),
    ({"budget_amount": "-5"}, "budget_amount", "The amount cannot be negative."),
    ({"budget_amount": "10.005"}, "budget_amount", "Use at most two decimals."),
    ({"budget_amount": "1e400"}, "budget_amount", "This amount is too large."),
    ({"budget_amount": "lots"}, "budget_amount", "Enter an amount such as 1250000.00."),
    ({"budget_currency": ""}, "budget_currency", "Choose the currency of the amount."),
    ({"budget_currency": "XXX"}, "budget_currency", "Not a valid choice."),
    (
        {"partners-0-partner": "999999"},
        "partners-0-partner",
        "This record does not exist or is archived.",
    ),
    (
        {"partners-0-partner": "99999999999999999999"},
        "partners-0-partner",
        "Pick a record from the list.",
    ),
    ({"partners-0-partner": "abc"}, "partners-0-partner", "Pick a record from the list."),
    (
        {"partners-1-partner": "{ukiic}", "partners-1-role": "lead"},
        "partners-1-partner",
        "The same organisation is listed twice in the same role.",
    ),
    ({"partners-0-role": "boss"}, "partners-0-role", "Not a valid choice."),
    (
        {"agreement_links-0-agreement": "999999"},
        "agreement_links-0-agreement",
        "This record does not exist or is archived.",
    ),
    (
        {"agreement_links-1-agreement": "{agreement}"},
        "agreement_links-1-agreement",
        "This agreement is listed twice.",
    ),
    ({"milestones-1-title": ""}, "milestones-1-title", "This field is required."),
    ({"milestones-0-due_on": "2021-13-01"}, "milestones-0-due_on", "Enter a date as YYYY-MM-DD."),
    (
        {"indicators-1-kind_id": "{talents}"},
        "indicators-1-kind_id",
        "This indicator is listed twice.",
    ),
    ({"indicators-0-target": "-1"}, "indicators-0-target", "The amount cannot be negative."),
    ({"indicators-0-target": "1.234"}, "indicators-0-target", "Use at most two decimals."),
    (
        {"indicators-2-currency": ""},
        "indicators-2-currency",
        "Choose the currency of this indicator.",
    ),
    (
        {"indicators-0-currency": "GBP"},
        "indicators-0-currency",
        "Only money indicators have a currency.",
    ),
    ({"indicators-0-kind_id": "999999"}, "indicators-0-kind_id", "Not a valid choice."),
    ({"indicators-0-kind_id": "abc"}, "indicators-0-kind_id", "Not a valid choice."),
    ({"indicators-0-kind_id": ""}, "indicators-0-kind_id", "Choose the kind of indicator."),
    (
        {"actuals-1-period": "2021"},
        "actuals-1-period",
        "This period is already reported for this indicator.",
    ),
    ({"actuals-0-value": "-3"}, "actuals-0-value", "The amount cannot be negative."),
    ({"actuals-2-value": "0.001"}, "actuals-2-value", "Use at most two decimals."),
    ({"actuals-0-value": ""}, "actuals-0-value", "Enter the value."),
    ({"actuals-0-value": " "}, "actuals-0-value", "Enter the value."),
    ({"actuals-0-period": ""}, "actuals-0-period", "This field is required."),
    ({"actuals-3-period_end": ""}, "actuals-3-period_end", "Enter the last day of the period"),
    ({"actuals-0-kind_id": "{jobs}"}, "actuals-0-kind_id", "This project has no such indicator"),
]


@pytest.mark.parametrize("change, where, message", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_bad_input_gets_field_error_input_kept_nothing_written(
    staff_client, story, change, where, message
):
    ids = {
        "ukiic": story["ukiic"].id,
        "agreement": story["agreement"].id,
        **{code: kind.id for code, kind in story["kinds"].items()},
    }
    change = {k: v.format(**ids) for k, v in change.items()}
    before = counts()
    name = "台州湾 <script>x</script> 😀"
    data = story_form(story, **{"name": name, **change})
    response = staff_client.post_form("/projects/new", data)
    assert response.status_code == 200
    page = response.text
    assert f'data-field="{where}">{escape(message)}' in page or (
        f'data-field="{where}">' in page and str(escape(message)) in page
    ), page
    assert "Please correct the fields marked below." in page
    if data["name"] and "\x00" not in data["name"] and len(data["name"]) <= 300:
        assert str(escape(name)) in page  # the input is kept
    assert "<script>x</script>" not in page
    if "milestones-1-title" not in change:
        assert 'value="Centre opens in Taizhou Bay New Area"' in page
    assert counts() == before


def test_html_chinese_and_emoji_are_shown_as_text(staff_client, story):
    name = "台州湾 <b>中英</b> 😀 & co"
    data = story_form(
        story,
        name=name,
        description="<script>alert(1)</script>\nline two",
        **{"milestones-0-title": "<i>signed</i> 签约 ✍️"},
    )
    response = staff_client.post_form("/projects/new", data)
    assert response.status_code == 302, response.text
    page = staff_client.get(response.headers["Location"]).text
    assert str(escape(name)) in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;signed&lt;/i&gt; 签约 ✍️" in page
    assert "<script>alert(1)" not in page and "<b>中英</b>" not in page


def test_an_archived_partner_cannot_be_picked_but_stays_on_edit(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    other = make_partner("Gone Ltd", archived_at=None)
    other.archive(None)
    story["ekoo"].archive(None)
    db.session.commit()
    # Ekoo was already linked: saving the project unchanged still works.
    response = staff_client.post_form(f"/projects/{project.id}/edit", edit_form(project, story))
    assert response.status_code == 302, response.text
    # A newly picked archived partner is refused.
    project = the_project()
    data = edit_form(project, story, **{"partners-3-partner": str(other.id)})
    response = staff_client.post_form(f"/projects/{project.id}/edit", data)
    assert "This record does not exist or is archived." in response.text


def test_a_deactivated_kind_stays_on_projects_but_is_not_offered(staff_client, story):
    staff_client.post_form("/projects/new", story_form(story))
    project = the_project()
    kinds = story["kinds"]
    kinds["talents"].active = False
    kinds["jobs"].active = False
    db.session.commit()
    page = staff_client.get(f"/projects/{project.id}/edit").text
    assert f'<option selected value="{kinds["talents"].id}">' in page
    assert f'<option value="{kinds["jobs"].id}">' not in page
    response = staff_client.post_form(f"/projects/{project.id}/edit", edit_form(project, story))
    assert response.status_code == 302, response.text
    before = counts()
    data = edit_form(the_project(), story, **{"indicators-3-kind_id": str(kinds["jobs"].id)})
    response = staff_client.post_form(f"/projects/{project.id}/edit", data)
    assert response.status_code == 200
    assert "This kind of indicator is no longer offered." in response.text
    assert counts() == before


def test_staff_cannot_reassign_the_lead_managers_can(app, users, story):
    staff = app.test_client().login_as(users["staff"])
    other = make_user("staff")
    db.session.commit()
    response = staff.post_form("/projects/new", story_form(story, owner=str(other.id)))
    assert response.status_code == 302, response.text
    project = the_project()
    assert project.owner_id == users["staff"].id
    manager = app.test_client().login_as(users["manager"])
    data = edit_form(project, story, owner=str(other.id))
    assert manager.post_form(f"/projects/{project.id}/edit", data).status_code == 302
    assert the_project().owner_id == other.id
    page = staff.get(f"/projects/{project.id}/edit").text
    assert 'disabled id="owner"' in page or ('id="owner"' in page and "disabled" in page)


def test_staff_form_without_the_disabled_lead_field_saves(staff_client, story):
    data = story_form(story)
    del data["owner"]
    response = staff_client.post_form("/projects/new", data)
    assert response.status_code == 302, response.text


def test_detail_shows_targets_against_actuals(staff_client, story):
    response = staff_client.post_form("/projects/new", story_form(story))
    page = staff_client.get(response.headers["Location"]).text
    project = the_project()
    assert "Taizhou Bay China-UK Innovation Center" in page and "台州湾中英创新中心" in page
    # Talents: 17 of 100, per period 12 and 5.
    talents = page.split('data-indicator="talents"')[1].split("</tbody>")[0]
    assert "data-target>100 people<" in talents.replace("\n", "")
    assert "data-actual>17 people<" in talents
    assert 'aria-valuenow="17"' in talents and "width: 17%" in talents
    assert 'data-period="2021"' in talents and 'data-period="2022-Q1"' in talents
    # Investment: money with its currency, 8,000,000.50 of 50,000,000.00 CNY.
    investment = page.split('data-indicator="investment"')[1].split("</tbody>")[0]
    assert "data-target>50,000,000.00 CNY<" in investment
    assert "data-actual>8,000,000.50 CNY<" in investment
    assert 'aria-valuenow="16"' in investment
    # Links to the agreement and the partners, with roles.
    assert f'href="/agreements/{story["agreement"].id}"' in page
    assert f'href="/partners/{story["ukiic"].id}"' in page
    assert "5,000,000.00 CNY" in page
    # The open milestone due in 2021 is overdue; the done one is not.
    milestones = page.split('id="project-milestones"')[1].split("</table>")[0]
    assert milestones.count('class="overdue table-danger"') == 1
    assert milestones.index("Cooperation agreement signed") < milestones.index("Centre opens")
    assert project.created_by.name in page


def test_an_open_milestone_due_later_is_not_overdue(staff_client, story):
    later = (date.today() + timedelta(days=30)).isoformat()
    data = story_form(story, **{"milestones-1-due_on": later})
    response = staff_client.post_form("/projects/new", data)
    page = staff_client.get(response.headers["Location"]).text
    assert 'class="overdue' not in page


def test_detail_of_a_missing_project_is_404(staff_client):
    assert staff_client.get("/projects/999999").status_code == 404
    assert staff_client.get("/projects/999999/edit").status_code == 404


def test_lookup_finds_by_any_name_and_excludes_archived(staff_client, users):
    make_project("Taizhou Bay China-UK Innovation Center", name_zh="台州湾中英创新中心")
    gone = make_project("Taizhou Talent Week")
    gone.archive(None)
    db.session.commit()
    for q in ("taizhou", "台州", "taizhouwan"):
        results = staff_client.get("/projects/lookup", query_string={"q": q}).json["results"]
        assert [r["label"] for r in results] == [
            "Taizhou Bay China-UK Innovation Center · 台州湾中英创新中心"
        ], q
    assert staff_client.get("/projects/lookup?q=").json["results"] == []


def test_archive_by_owner_non_owner_403_manager_restores(app, users, story):
    owner = app.test_client().login_as(users["staff"])
    owner.post_form("/projects/new", story_form(story))
    project = the_project()
    stranger = app.test_client().login_as(make_user("staff"))
    db.session.commit()
    assert stranger.post_form(f"/projects/{project.id}/archive").status_code == 403
    assert the_project().archived_at is None
    response = owner.post_form(f"/projects/{project.id}/archive")
    assert response.status_code == 302
    project = the_project()
    assert project.archived_at is not None
    assert owner.post_form(f"/projects/{project.id}/restore").status_code == 403
    manager = app.test_client().login_as(users["manager"])
    assert manager.post_form(f"/projects/{project.id}/restore").status_code == 302
    project = the_project()
    assert project.archived_at is None
    assert len(project.partners) == 3 and len(project.agreements) == 1
    assert sum(len(i.actuals) for i in project.indicators) == 4


def test_archive_needs_a_csrf_token(staff_client, users):
    project = make_project(owner=users["staff"])
    db.session.commit()
    assert staff_client.post(f"/projects/{project.id}/archive").status_code == 400
    assert the_project().archived_at is None


HOSTILE = ["\x00", "9" * 40, "-1", "²", "1e5", "２０２１-01-01", "<x>'\"", " "]


def test_hostile_values_in_any_field_never_fail(staff_client, story):
    """Every field of the form, given values no form should send: an answer, never a 500."""
    base = story_form(story)
    fields = [*base, "partners-0-id", "milestones-0-id", "actuals-0-id", "indicators-0-id"]
    failures = []
    for name in fields:
        for value in HOSTILE:
            response = staff_client.post_form("/projects/new", {**base, name: value})
            if response.status_code not in (200, 302):
                failures.append((name, value, response.status_code))
    assert failures == []
    # Keys with odd row indices are ignored, not fatal.
    for key in ("partners-²-partner", "partners-99999999-partner", "partners--1-partner"):
        response = staff_client.post_form("/projects/new", {**base, key: "1"})
        assert response.status_code in (200, 302), key


def test_pages_in_chinese_show_chinese_kind_names(staff_client, story):
    response = staff_client.post_form("/projects/new", story_form(story))
    detail_url = response.headers["Location"]
    staff_client.post_form("/language", {"lang": "zh_Hans"})
    page = staff_client.get(detail_url)
    assert page.status_code == 200
    assert "引进人才" in page.text and "吸引投资" in page.text
    form = staff_client.get(detail_url + "/edit")
    assert form.status_code == 200 and "引进人才" in form.text
    assert staff_client.get("/projects/").status_code == 200


def test_undated_milestones_come_after_dated_ones(staff_client, story):
    data = story_form(story, **{"milestones-0-due_on": "", "milestones-0-done_on": ""})
    response = staff_client.post_form("/projects/new", data)
    page = staff_client.get(response.headers["Location"]).text
    milestones = page.split('id="project-milestones"')[1].split("</table>")[0]
    assert milestones.index("Centre opens") < milestones.index("Cooperation agreement signed")


def test_a_save_racing_another_is_refused_with_nothing_written(staff_client, story, monkeypatch):
    """A save landing between the version check and the write is caught, not a 500."""
    from sqlalchemy.orm.exc import StaleDataError

    from crm.projects import operations

    real = operations.save_project

    def racing(*args, **kwargs):
        real(*args, **kwargs)  # every row is flushed ...
        raise StaleDataError("another save won")  # ... then the version check fails

    monkeypatch.setattr(operations, "save_project", racing)
    before = counts()
    response = staff_client.post_form("/projects/new", story_form(story))
    assert response.status_code == 200
    assert "Someone else saved this record at the same moment" in response.text
    assert 'value="Centre opens in Taizhou Bay New Area"' in response.text
    assert counts() == before
