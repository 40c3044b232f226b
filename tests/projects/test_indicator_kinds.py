"""The admin page for indicator kinds, and the helpers behind project indicators."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from crm.db import db
from crm.projects.forms import normalize_period, period_end_of
from crm.projects.models import STANDARD_INDICATORS, IndicatorKind
from crm.projects.operations import ensure_standard_indicator_kinds

NEW_KIND = {
    "code": "patents_granted",
    "name_en": "Patents granted",
    "name_zh": "授权专利",
    "measure": "count",
    "unit": "patents",
}


def kind_count() -> int:
    return db.session.scalar(select(func.count()).select_from(IndicatorKind))


def test_admin_sees_the_standard_kinds(admin_client):
    page = admin_client.get("/projects/indicator-kinds").text
    for code, name_en, name_zh, _money, _unit in STANDARD_INDICATORS:
        assert f'data-kind="{code}"' in page
        assert name_en in page and name_zh in page
    assert kind_count() == len(STANDARD_INDICATORS)


def test_admin_adds_a_kind_and_it_is_offered_on_the_project_form(admin_client, staff_client):
    response = admin_client.post_form("/projects/indicator-kinds", NEW_KIND)
    assert response.status_code == 302
    kind = db.session.scalar(select(IndicatorKind).where(IndicatorKind.code == "patents_granted"))
    assert (kind.name_en, kind.name_zh, kind.is_money, kind.unit, kind.active) == (
        "Patents granted",
        "授权专利",
        False,
        "patents",
        True,
    )
    assert "Patents granted" in admin_client.get(response.headers["Location"]).text
    page = staff_client.get("/projects/new").text
    assert f'<option value="{kind.id}">Patents granted</option>' in page


def test_a_money_kind_has_no_unit(admin_client):
    data = {**NEW_KIND, "code": "grants_won", "name_en": "Grants won", "measure": "money"}
    assert admin_client.post_form("/projects/indicator-kinds", data).status_code == 302
    kind = db.session.scalar(select(IndicatorKind).where(IndicatorKind.code == "grants_won"))
    assert kind.is_money and kind.unit is None


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_only_admins_may_manage_kinds(app, users, role):
    client = app.test_client().login_as(users[role])
    assert client.get("/projects/indicator-kinds").status_code == 403
    assert client.post_form("/projects/indicator-kinds", NEW_KIND).status_code == 403
    assert kind_count() == 0


BAD = [
    ({"code": ""}, "This field is required."),
    ({"code": "Patents Granted"}, "Use lower-case letters, digits and underscores"),
    ({"code": "1patents"}, "Use lower-case letters, digits and underscores"),
    ({"code": "p" * 41}, "Field cannot be longer than 40 characters."),
    ({"code": "talents"}, "This code is already used by another kind."),
    ({"code": "TALENTS"}, "This code is already used by another kind."),
    ({"name_en": ""}, "This field is required."),
    ({"name_en": "n" * 201}, "Field cannot be longer than 200 characters."),
    ({"name_zh": "专" * 101}, "Field cannot be longer than 100 characters."),
    ({"measure": "weight"}, "Not a valid choice."),
    ({"unit": "u" * 51}, "Field cannot be longer than 50 characters."),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_kinds_are_refused_at_the_field(admin_client, change, message):
    admin_client.get("/projects/indicator-kinds")
    before = kind_count()
    data = {**NEW_KIND, "name_en": "<b>Patents</b> 专利 😀", **change}
    response = admin_client.post_form("/projects/indicator-kinds", data)
    assert response.status_code == 200
    assert message in response.text
    assert "is-invalid" in response.text
    if data["name_en"] and len(data["name_en"]) <= 200:
        assert "&lt;b&gt;Patents&lt;/b&gt; 专利 😀" in response.text
    assert kind_count() == before


def test_deactivate_and_reactivate(admin_client, staff_client):
    admin_client.get("/projects/indicator-kinds")
    jobs = db.session.scalar(select(IndicatorKind).where(IndicatorKind.code == "jobs"))
    response = admin_client.post_form(f"/projects/indicator-kinds/{jobs.id}/deactivate")
    assert response.status_code == 302
    db.session.expire_all()
    assert jobs.active is False
    assert f'<option value="{jobs.id}">' not in staff_client.get("/projects/new").text
    # Ensuring the standard kinds again does not bring it back.
    assert ensure_standard_indicator_kinds() == []
    assert (
        admin_client.post_form(f"/projects/indicator-kinds/{jobs.id}/reactivate").status_code == 302
    )
    db.session.expire_all()
    assert jobs.active is True
    assert f'<option value="{jobs.id}">' in staff_client.get("/projects/new").text


def test_deactivate_needs_admin_and_csrf(app, users, admin_client):
    admin_client.get("/projects/indicator-kinds")
    jobs = db.session.scalar(select(IndicatorKind).where(IndicatorKind.code == "jobs"))
    manager = app.test_client().login_as(users["manager"])
    assert manager.post_form(f"/projects/indicator-kinds/{jobs.id}/deactivate").status_code == 403
    assert admin_client.post(f"/projects/indicator-kinds/{jobs.id}/deactivate").status_code == 400
    assert admin_client.post_form("/projects/indicator-kinds/999999/deactivate").status_code == 404
    db.session.expire_all()
    assert jobs.active is True


def test_ensure_standard_kinds_is_idempotent(app):
    created = ensure_standard_indicator_kinds()
    assert [k.code for k in created] == [code for code, *_ in STANDARD_INDICATORS]
    assert ensure_standard_indicator_kinds() == []
    db.session.commit()
    assert kind_count() == len(STANDARD_INDICATORS)
    investment = db.session.scalar(select(IndicatorKind).where(IndicatorKind.code == "investment"))
    assert investment.is_money


@pytest.mark.parametrize(
    "label, normal, end",
    [
        ("2021", "2021", date(2021, 12, 31)),
        ("2021-Q3", "2021-Q3", date(2021, 9, 30)),
        ("2021 q1", "2021-Q1", date(2021, 3, 31)),
        ("2024Q4", "2024-Q4", date(2024, 12, 31)),
        ("2021-H1", "2021-H1", date(2021, 6, 30)),
        ("2024-02", "2024-02", date(2024, 2, 29)),
        ("2021-13", "2021-13", None),
        ("2021-Q5", "2021-Q5", None),
        ("Launch year", "Launch year", None),
        ("０２０２１", "０２０２１", None),
        ("9999", "9999", None),
    ],
)
def test_periods(label, normal, end):
    assert normalize_period(label) == normal
    assert period_end_of(normal) == end


def test_a_code_taken_at_the_same_moment_is_a_field_error(admin_client, monkeypatch):
    from crm.projects import operations

    admin_client.get("/projects/indicator-kinds")
    before = kind_count()

    def racing(code, name_en, name_zh, is_money, unit):
        # Another admin's kind with the same code lands after the check: the key refuses it.
        db.session.add(IndicatorKind(code="talents", name_en=name_en))
        db.session.flush()

    monkeypatch.setattr(operations, "add_indicator_kind", racing)
    response = admin_client.post_form("/projects/indicator-kinds", NEW_KIND)
    assert response.status_code == 200
    assert "This code is already used by another kind." in response.text
    assert kind_count() == before
