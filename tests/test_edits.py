"""Every edit form, pressed as a person would (crm.edits, crm.crud.edit_record):

- saving a page unchanged writes nothing (no version, no "updated", no audit entry);
- a stale save comes back merged: what only they changed is taken, what only you changed
  is kept, what both changed is flagged with theirs and a box to take it; saving the
  merged page again loses nobody's change;
- a save that loses the race at the database (PostgreSQL) gets the same answer, never a
  500; two people saving the same form at once: one saved, one refused with input kept.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session

from crm.activities.models import Activity, FollowUp
from crm.agreements.models import Agreement
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import KeyFigure, Partner, PartnerName
from crm.projects.models import Milestone, Project
from crm.rates.models import ExchangeRate
from tests import factories
from tests.pageform import page_form, with_values


def _partner(users):
    parent = factories.make_partner("Taizhou Municipal Government")
    partner = factories.make_partner(
        "Taizhou Science and Technology Bureau",
        owner=users["manager"],
        name_zh="台州市科技局",
        city="Taizhou",
        country="CN",
        parent_id=parent.id,
        website="https://kjj.example.cn",
        description="Runs the talent programme.\nTwo offices.",
    )
    partner.other_names.append(PartnerName(name="台州科技局", kind="alias"))
    partner.figures.append(KeyFigure(label="Staff", value=Decimal("120.50"), year=2024))
    partner.refresh_derived()
    return partner


def _contact(users):
    bureau = factories.make_partner("Taizhou Bureau")
    return factories.make_contact(
        "Li Wei",
        owner=users["staff"],
        positions=[(bureau, "Director", date(2020, 1, 1))],
        email="li.wei@example.cn",
        notes="Met in Oxford.\nPrefers WeChat.",
    )


def _agreement(users):
    a, b = factories.make_partner("Taizhou"), factories.make_partner("UKIIC")
    return factories.make_agreement(
        "Taizhou-UKIIC MoU",
        parties=[(a, "party"), (b, "operator")],
        owner=users["staff"],
        signed_on=date(2023, 5, 1),
        value_amount=Decimal("1250000.00"),
        value_currency="GBP",
        summary="Five years.\nRenewable.",
    )


def _project(users):
    partner = factories.make_partner("Taizhou")
    project = factories.make_project(
        "Talent exchange",
        partners=[(partner, "host")],
        owner=users["staff"],
        start_date=date(2024, 1, 1),
        budget_amount=Decimal("50000.00"),
        budget_currency="CNY",
        description="Year one.\nYear two.",
    )
    project.milestones.append(Milestone(title="Kick-off", due_on=date(2024, 2, 1)))
    project.refresh_derived()
    return project


def _activity(users):
    contact = factories.make_contact("Zhang San")
    partner = factories.make_partner("Taizhou")
    activity = Activity(
        kind="meeting",
        title="Visit",
        occurred_at=datetime(2024, 3, 5, 6, 30, tzinfo=UTC),
        timezone="Asia/Shanghai",
        location="Taizhou",
        summary="Talked.\nAgreed.",
    )
    db.session.add(activity)
    db.session.flush()
    from crm.activities.models import ActivityAttendee, ActivityPartner

    activity.attendees.append(ActivityAttendee(contact_id=contact.id, role="spoke"))
    activity.partner_links.append(
        ActivityPartner(partner_id=partner.id, occurred_at=activity.occurred_at)
    )
    activity.staff = [users["staff"]]
    activity.refresh_derived()
    return activity


def _follow_up(users):
    partner = factories.make_partner("Taizhou")
    follow_up = FollowUp(
        title="Send the draft",
        due_on=date(2024, 4, 1),
        assignee_id=users["staff"].id,
        partner_id=partner.id,
        notes="By email.\nCopy Li Wei.",
    )
    db.session.add(follow_up)
    return follow_up


def _rate(users):
    rate = ExchangeRate(
        year=2024, currency="GBP", quote="CNY", rate=Decimal("9.1"), source="Bank", version_id=1
    )
    db.session.add(rate)
    return rate


# kind: (maker, model, edit URL, field they change, field you change, who edits)
KINDS = {
    "partner": (_partner, Partner, "/partners/{}/edit", "website", "description", "staff"),
    "contact": (_contact, Contact, "/contacts/{}/edit", "phone", "notes", "staff"),
    "agreement": (_agreement, Agreement, "/agreements/{}/edit", "signed_at", "summary", "staff"),
    "project": (_project, Project, "/projects/{}/edit", "name_zh", "description", "staff"),
    "activity": (_activity, Activity, "/activities/{}/edit", "location", "summary", "staff"),
    "follow_up": (_follow_up, FollowUp, "/follow-ups/{}/edit", "title", "notes", "staff"),
    "rate": (_rate, ExchangeRate, "/admin/exchange-rates/{}/edit", "source", "rate", "admin"),
}
VALUES = {
    "website": ("https://theirs.example", "https://mine.example"),
    "phone": ("+86 576 1111", "+86 576 2222"),
    "signed_at": ("Oxford", "Taizhou Hall"),
    "name_zh": ("人才交流", "人才交流项目"),
    "location": ("Linhai", "Wenling"),
    "title": ("Send the signed copy", "Send the final draft"),
    "source": ("Their bank", "My bank"),
    "description": ("Theirs.\r\nTwo lines.", "Mine.\r\nTwo lines."),
    "notes": ("Theirs.\r\nTwo lines.", "Mine.\r\nTwo lines."),
    "summary": ("Theirs.\r\nTwo lines.", "Mine.\r\nTwo lines."),
    "rate": ("9.2", "9.3"),
}


def _stored(model, record_id, name):
    db.session.rollback()  # see what the requests committed
    value = getattr(db.session.get(model, record_id), name)
    return value.replace("\n", "\r\n") if isinstance(value, str) else value


def _same(stored, posted):
    return str(stored) == posted if not isinstance(stored, Decimal) else stored == Decimal(posted)


@pytest.fixture
def two(app, users):
    """Two people of the same role: (you, them) clients by role."""
    others = {role: factories.make_user(role=role) for role in ("staff", "admin")}
    db.session.commit()
    pairs = {}
    for role in ("staff", "admin"):
        pairs[role] = tuple(app.test_client().login_as(u) for u in (users[role], others[role]))
        for client, user in zip(pairs[role], (users[role], others[role]), strict=True):
            client.user_id = user.id
    return pairs


def _make(kind, users):
    maker, model, url, *_ = KINDS[kind]
    record = maker(users)
    db.session.commit()
    return model, record.id, url.format(record.id)


def _state(model, record_id):
    db.session.rollback()
    record = db.session.get(model, record_id)
    entries = db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.record_type == model.__audit_type__, AuditEntry.record_id == record_id
        )
    )
    return record.version_id, record.updated_at, record.updated_by_id, entries


@pytest.mark.parametrize("kind", KINDS)
def test_saving_a_page_unchanged_writes_nothing(app, users, two, kind):
    model, record_id, url = _make(kind, users)
    you, _them = two[KINDS[kind][5]]
    before = _state(model, record_id)
    page = you.get(url)
    assert page.status_code == 200
    saved = you.post(url, data=page_form(page.text, has="version"))
    assert saved.status_code == 302, saved.text
    assert _state(model, record_id) == before
    # A real change still counts, once.
    name = KINDS[kind][4]
    page = you.get(url)
    changed = you.post(
        url, data=with_values(page_form(page.text, has="version"), **{name: VALUES[name][1]})
    )
    assert changed.status_code == 302
    version, updated_at, updated_by, entries = _state(model, record_id)
    assert (version, entries) == (before[0] + 1, before[3] + 1)
    assert updated_at > before[1] and updated_by == you.user_id


@pytest.mark.parametrize("kind", KINDS)
def test_a_stale_save_comes_back_merged_and_saving_it_loses_nothing(app, users, two, kind):
    model, record_id, url = _make(kind, users)
    _maker, _model, _url, theirs_field, mine_field, role = KINDS[kind]
    you, them = two[role]
    mine = page_form(you.get(url).text, has="version")
    ours = page_form(them.get(url).text, has="version")

    saved = them.post(url, data=with_values(ours, **{theirs_field: VALUES[theirs_field][0]}))
    assert saved.status_code == 302
    refused = you.post(url, data=with_values(mine, **{mine_field: VALUES[mine_field][1]}))
    assert refused.status_code == 200
    assert "Someone else saved this record while you were editing it" in refused.text
    assert 'id="merge-summary"' in refused.text and "data-conflict=" not in refused.text
    merged = page_form(refused.text, has="version")
    assert merged[theirs_field] == VALUES[theirs_field][0]  # theirs taken
    assert merged[mine_field] == VALUES[mine_field][1]  # yours kept
    assert _same(_stored(model, record_id, mine_field), mine[mine_field])  # nothing written

    again = you.post(url, data=merged)
    assert again.status_code == 302, again.text
    assert _same(_stored(model, record_id, theirs_field), VALUES[theirs_field][0])
    assert _same(_stored(model, record_id, mine_field), VALUES[mine_field][1])


@pytest.mark.parametrize("take_theirs", [False, True])
@pytest.mark.parametrize("kind", ["partner", "agreement", "follow_up"])
def test_a_field_both_changed_is_flagged_with_theirs(app, users, two, kind, take_theirs):
    model, record_id, url = _make(kind, users)
    _maker, _model, _url, field, _mine_field, role = KINDS[kind]
    you, them = two[role]
    mine = page_form(you.get(url).text, has="version")
    ours = page_form(them.get(url).text, has="version")
    theirs_value, my_value = VALUES[field]
    assert them.post(url, data=with_values(ours, **{field: theirs_value})).status_code == 302

    refused = you.post(url, data=with_values(mine, **{field: my_value}))
    assert refused.status_code == 200
    assert f'data-conflict="{field}"' in refused.text
    assert "They saved:" in refused.text and theirs_value in refused.text
    merged = page_form(refused.text, has="version")
    assert merged[field] == my_value  # the form keeps yours
    if take_theirs:
        merged.add("take_theirs", field)
    assert you.post(url, data=merged).status_code == 302
    assert _same(_stored(model, record_id, field), theirs_value if take_theirs else my_value)


def test_rows_are_one_field_each(app, users, two):
    """Other names changed by them, key figures by you: both kept."""
    model, record_id, url = _make("partner", users)
    you, them = two["staff"]
    mine = page_form(you.get(url).text, has="version")
    ours = page_form(them.get(url).text, has="version")
    assert (
        them.post(url, data=with_values(ours, **{"other_names-1-name": "TSTB"})).status_code == 302
    )
    refused = you.post(url, data=with_values(mine, **{"figures-0-value": "130"}))
    assert "Someone else saved" in refused.text
    assert you.post(url, data=page_form(refused.text, has="version")).status_code == 302
    db.session.rollback()
    partner = db.session.get(Partner, record_id)
    assert sorted(n.name for n in partner.other_names) == ["TSTB", "台州科技局"]
    assert [f.value for f in partner.figures] == [Decimal("130")]


def test_a_form_without_what_it_was_loaded_with_flags_every_difference(app, users, two):
    """An old page (or a hand-made post) has no loaded values: nothing of theirs is
    overwritten unseen, every field that differs is shown side by side."""
    model, record_id, url = _make("partner", users)
    you, them = two["staff"]
    mine = page_form(you.get(url).text, has="version")
    del mine["loaded"]
    ours = page_form(them.get(url).text, has="version")
    assert (
        them.post(url, data=with_values(ours, website="https://theirs.example")).status_code == 302
    )
    refused = you.post(url, data=with_values(mine, city="Linhai"))
    assert 'data-conflict="website"' in refused.text and 'data-conflict="city"' in refused.text


# --- racing saves ---------------------------------------------------------------------------


def _bump_meanwhile(app, model, record_id, column, value):
    """On the request's first flush: someone else's save of the record lands first (on
    PostgreSQL committed by another connection; SQLite, which lets one writer in at a
    time, gets it through the request's own connection)."""
    fired = []

    def before_flush(session, _context, _instances):
        if fired or not any(isinstance(o, model) for o in session.dirty):
            return
        fired.append(True)
        change = (
            update(model.__table__)
            .where(model.__table__.c.id == record_id)
            .values({column: value, "version_id": model.__table__.c.version_id + 1})
        )
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as other:
                other.execute(change)
        else:
            session.connection().execute(change)

    event.listen(Session, "before_flush", before_flush)
    return lambda: event.remove(Session, "before_flush", before_flush)


@pytest.mark.parametrize("kind", ["partner", "contact", "agreement", "project", "activity"])
def test_a_save_that_loses_the_race_is_merged_not_a_500(app, users, two, kind):
    model, record_id, url = _make(kind, users)
    _maker, _model, _url, theirs_field, mine_field, role = KINDS[kind]
    you, _them = two[role]
    mine = page_form(you.get(url).text, has="version")
    column = {"name_zh": "name_zh"}.get(theirs_field, theirs_field)
    stop = _bump_meanwhile(app, model, record_id, column, VALUES[theirs_field][0])
    try:
        refused = you.post(url, data=with_values(mine, **{mine_field: VALUES[mine_field][1]}))
    finally:
        stop()
    assert refused.status_code == 200
    assert "Someone else saved this record while you were editing it" in refused.text
    merged = page_form(refused.text, has="version")
    assert merged[mine_field] == VALUES[mine_field][1]
    if db.engine.dialect.name == "postgresql":  # their save stands and is merged in
        assert merged[theirs_field] == VALUES[theirs_field][0]
    assert you.post(url, data=merged).status_code == 302
    assert _same(_stored(model, record_id, mine_field), VALUES[mine_field][1])


@pytest.mark.parametrize("kind", ["partner", "contact", "agreement", "project", "activity"])
def test_two_people_saving_the_same_form_at_once(app, users, two, kind):
    model, record_id, url = _make(kind, users)
    _maker, _model, _url, theirs_field, mine_field, role = KINDS[kind]
    clients = two[role]
    for round_ in range(6):
        forms = [page_form(c.get(url).text, has="version") for c in clients]
        values = [
            with_values(forms[0], **{theirs_field: f"{VALUES[theirs_field][0]}{round_}"}),
            with_values(forms[1], **{mine_field: f"{VALUES[mine_field][1]}{round_}"}),
        ]
        if theirs_field in ("rate",):
            pytest.skip("numbers")
        start, answers = threading.Barrier(2), [None, None]

        def post(i, start, answers, data):
            start.wait()
            answers[i] = clients[i].post(url, data=data)

        threads = [
            threading.Thread(target=post, args=(i, start, answers, values[i])) for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 302], [a.status_code for a in answers]
        refused = next(a for a in answers if a.status_code == 200)
        assert "Someone else saved this record" in refused.text
        i = answers.index(refused)
        field = theirs_field if i == 0 else mine_field
        assert page_form(refused.text, has="version")[field] == values[i][field]  # input kept
    db.session.rollback()
    assert db.session.scalar(text("SELECT 1")) == 1


# --- the API's PATCH ------------------------------------------------------------------------

API_KINDS = {
    "partner": "partners",
    "contact": "contacts",
    "agreement": "agreements",
    "project": "projects",
    "activity": "activities",
}


@pytest.fixture
def api_clients(app, users):
    from crm.api.tokens import create_token
    from tests.api.conftest import ApiClient

    token = create_token(users["staff"], "edits", None)[1]
    db.session.commit()
    return ApiClient(app, token)


@pytest.mark.parametrize("kind", API_KINDS)
def test_a_patch_that_changes_nothing_writes_nothing(app, users, api_clients, kind):
    model, record_id, _url = _make(kind, users)
    url = f"/api/v1/{API_KINDS[kind]}/{record_id}"
    before = _state(model, record_id)
    body = api_clients.get(url).json
    # The version alone, then the whole GET body sent back: both change nothing.
    for sent in ({"version": before[0]}, body):
        answer = api_clients.patch(url, json=sent)
        assert answer.status_code == 200, answer.json
        assert answer.json["version"] == before[0]
        assert _state(model, record_id) == before


@pytest.mark.parametrize("kind", ["partner", "agreement"])
def test_a_patch_that_loses_the_race_is_409_with_what_changed(app, users, api_clients, kind):
    model, record_id, _url = _make(kind, users)
    field = KINDS[kind][3]
    url = f"/api/v1/{API_KINDS[kind]}/{record_id}"
    version = api_clients.get(url).json["version"]
    stop = _bump_meanwhile(app, model, record_id, field, VALUES[field][0])
    try:
        answer = api_clients.patch(url, json={field: VALUES[field][1], "version": version})
    finally:
        stop()
    assert answer.status_code == 409
    stored = _stored(model, record_id, field)
    if db.engine.dialect.name == "postgresql":  # theirs stands, mine is not written
        assert answer.json["current_version"] == version + 1
        assert stored == VALUES[field][0]
    else:
        assert stored != VALUES[field][1]


def test_theirs_is_shown_as_people_read_it(app, users, two):
    """A choice by its label, a record by its name, rows one per line of the field."""
    model, record_id, url = _make("partner", users)
    you, them = two["staff"]
    other_parent = factories.make_partner("Zhejiang Province")
    db.session.commit()
    mine = page_form(you.get(url).text, has="version")
    ours = page_form(them.get(url).text, has="version")
    theirs = {"status": "dormant", "parent": str(other_parent.id), "other_names-0-name": "TZB"}
    assert them.post(url, data=with_values(ours, **theirs)).status_code == 302
    yours = {"status": "ended", "parent": "", "parent__label": "", "other_names-0-name": "TSB"}
    refused = you.post(url, data=with_values(mine, **yours))
    shown = {
        name: refused.text.split(f'data-conflict="{name}"', 1)[1].split("</span>", 1)[0]
        for name in ("status", "parent", "other_names")
    }
    assert "Dormant" in shown["status"]
    assert "Zhejiang Province" in shown["parent"]
    assert "TZB, Alias" in shown["other_names"]
    merged = page_form(refused.text, has="version")
    for name in ("status", "parent", "other_names"):
        merged.add("take_theirs", name)
    assert you.post(url, data=merged).status_code == 302
    db.session.rollback()
    partner = db.session.get(Partner, record_id)
    assert (partner.status, partner.parent_id) == ("dormant", other_parent.id)
    assert sorted(n.name for n in partner.other_names) == ["TZB"]
