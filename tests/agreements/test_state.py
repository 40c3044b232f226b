"""What an agreement is on a given day: its state, its current term, the notice deadline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.agreements.models import Agreement, state_clause
from crm.db import db
from crm.vocab import AGREEMENT_STATES
from tests.factories import make_agreement

DAY = date(2024, 6, 15)

CASES = [
    pytest.param({"stage": "draft"}, "draft", id="draft"),
    pytest.param({"stage": "negotiation"}, "negotiation", id="negotiation"),
    pytest.param(
        {"stage": "terminated", "expires_on": DAY + timedelta(days=100)},
        "terminated",
        id="terminated-before-expiry",
    ),
    pytest.param(
        {"stage": "signed", "effective_from": DAY + timedelta(days=1)}, "pending", id="pending"
    ),
    pytest.param({"stage": "signed", "effective_from": DAY}, "in_force", id="starts-today"),
    pytest.param({"stage": "signed"}, "in_force", id="no-dates"),
    pytest.param({"stage": "signed", "expires_on": DAY}, "in_force", id="last-day"),
    pytest.param(
        {"stage": "signed", "expires_on": DAY - timedelta(days=1)}, "expired", id="expired"
    ),
    pytest.param(
        {"stage": "signed", "expires_on": DAY - timedelta(days=1), "auto_renew": True},
        "in_force",
        id="auto-renewed",
    ),
    pytest.param(
        {
            "stage": "signed",
            "effective_from": DAY + timedelta(days=5),
            "expires_on": DAY + timedelta(days=10),
        },
        "pending",
        id="pending-with-expiry",
    ),
]


@pytest.mark.parametrize("fields, state", CASES)
def test_state_follows_stage_and_dates(fields, state):
    agreement = Agreement(title="A", **{"auto_renew": False, **fields})
    assert agreement.state(DAY) == state


@pytest.mark.parametrize("fields, state", CASES)
def test_state_clause_agrees_with_state(app, fields, state):
    agreement = make_agreement("A", **{"auto_renew": False, **fields})
    db.session.commit()
    matching = [
        s
        for s in AGREEMENT_STATES
        if db.session.scalar(
            select(Agreement.id).where(Agreement.id == agreement.id, state_clause(s, DAY))
        )
    ]
    assert matching == [state]


def test_state_clause_refuses_unknown_states():
    with pytest.raises(ValueError):
        state_clause("sleeping", DAY)


def test_auto_renewing_term_rolls_forward_and_notice_follows():
    agreement = Agreement(
        title="Framework",
        stage="signed",
        effective_from=date(2021, 1, 1),
        expires_on=date(2021, 12, 31),
        auto_renew=True,
        notice_days=30,
    )
    assert agreement.current_term_end(date(2021, 6, 1)) == date(2021, 12, 31)
    assert agreement.notice_deadline(date(2021, 6, 1)) == date(2021, 12, 1)
    # A 365-day term renewed twice by mid-2023.
    assert agreement.current_term_end(date(2023, 6, 1)) == date(2023, 12, 31)
    assert agreement.notice_deadline(date(2023, 6, 1)) == date(2023, 12, 1)
    assert agreement.state(date(2023, 6, 1)) == "in_force"


def test_without_expiry_or_notice_there_is_no_deadline():
    assert Agreement(title="A", notice_days=30).notice_deadline(DAY) is None
    assert Agreement(title="A", expires_on=DAY).notice_deadline(DAY) is None
    fixed = Agreement(title="A", expires_on=date(2025, 1, 31), notice_days=0, auto_renew=False)
    assert fixed.notice_deadline(DAY) == date(2025, 1, 31)


def test_detail_page_shows_the_state_and_deadline(staff_client):
    today = date.today()
    agreement = make_agreement(
        "Rolling framework",
        stage="signed",
        signed_on=today - timedelta(days=800),
        effective_from=today - timedelta(days=730),
        expires_on=today - timedelta(days=366),
        auto_renew=True,
        notice_days=60,
    )
    db.session.commit()
    page = staff_client.get(f"/agreements/{agreement.id}").text
    assert 'data-state="in_force"' in page
    deadline = agreement.notice_deadline(today)
    assert deadline is not None and deadline >= today - timedelta(days=60)
    assert f'id="notice-deadline">{deadline.isoformat()}<' in page
    assert "Current term ends" in page
