"""Exchange rates kept by admins (audited, bad input refused, stale edits refused) and
money on the dashboard: per currency, converted with the rate of each amount's year, the
rates used named, and what could not be converted shown apart, never added in."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.db import db
from crm.rates.models import ExchangeRate
from tests.dashboard.test_dashboard import PERIOD, YEAR, list_count, populate
from tests.factories import make_agreement


def add(client, **fields):
    data = {"year": "2024", "currency": "GBP", "quote": "CNY", "rate": "9.1", "source": ""}
    data.update(fields)
    return client.post_form("/admin/exchange-rates/", data)


def rates():
    return db.session.scalars(select(ExchangeRate).order_by(ExchangeRate.id)).all()


def test_admin_adds_edits_archives_and_restores_a_rate_audited(admin_client, users):
    response = add(admin_client, source="PBOC yearly average")
    assert response.status_code == 302
    [rate] = rates()
    assert (rate.year, rate.currency, rate.quote, rate.rate) == (2024, "GBP", "CNY", Decimal("9.1"))
    page = admin_client.get("/admin/exchange-rates/").text
    assert 'data-rate="2024-GBP-CNY"' in page and "PBOC yearly average" in page
    edit = admin_client.get(f"/admin/exchange-rates/{rate.id}/edit").text
    version = re.search(r'name="version"[^>]*value="(\d+)"', edit).group(1)
    response = admin_client.post_form(
        f"/admin/exchange-rates/{rate.id}/edit",
        {"year": "2024", "currency": "GBP", "quote": "CNY", "rate": "9.25", "version": version},
    )
    assert response.status_code == 302
    db.session.refresh(rate)
    assert rate.rate == Decimal("9.25")
    admin_client.post_form(f"/admin/exchange-rates/{rate.id}/archive")
    db.session.refresh(rate)
    assert rate.archived_at is not None
    # Adding the same rate again brings the archived row back: one history per rate.
    assert add(admin_client, rate="9.3").status_code == 302
    assert len(rates()) == 1
    db.session.refresh(rate)
    assert rate.archived_at is None and rate.rate == Decimal("9.3")
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.record_type == "exchange_rate", AuditEntry.record_id == rate.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "update", "archive", "restore"]
    assert [Decimal(v) for v in entries[1].changes["rate"]] == [Decimal("9.1"), Decimal("9.25")]
    assert entries[0].user_id == users["admin"].id
    log = admin_client.get("/admin/audit?kind=exchange_rate")
    assert log.status_code == 200 and f"/admin/exchange-rates/{rate.id}/edit" in log.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rate": "abc"}, "rate", "Enter a rate such as"),
        ({"rate": "-2"}, "rate", "more than zero"),
        ({"rate": "0"}, "rate", "more than zero"),
        ({"rate": "1.123456789"}, "rate", "eight decimals"),
        ({"rate": ""}, "rate", "Enter the rate"),
        ({"year": "3000"}, "year", "between 1900 and 2200"),
        ({"year": "二〇二四"}, "year", ""),
        ({"quote": "GBP"}, "quote", "other than the one converted"),
        ({"currency": "XXX"}, "currency", ""),
        ({"source": "<script>x</script>" * 30}, "source", ""),
        ({"source": "bad\x00byte"}, "source", "control characters"),
    ],
)
def test_bad_input_is_refused_and_kept(admin_client, users, fields, field, message):
    response = add(admin_client, **fields)
    assert response.status_code == 200
    assert f'data-field="{field}"' in response.text
    assert message in response.text
    assert rates() == []
    if field == "rate" and fields["rate"]:
        assert f'value="{fields["rate"]}"' in response.text


def test_a_duplicate_and_a_stale_edit_are_refused(admin_client, users):
    add(admin_client)
    duplicate = add(admin_client, rate="8")
    assert duplicate.status_code == 200 and "exists already" in duplicate.text
    [rate] = rates()
    admin_client.post_form(
        f"/admin/exchange-rates/{rate.id}/edit",
        {"year": "2024", "currency": "GBP", "quote": "CNY", "rate": "9.2", "version": "1"},
    )
    stale = admin_client.post_form(
        f"/admin/exchange-rates/{rate.id}/edit",
        {"year": "2024", "currency": "GBP", "quote": "CNY", "rate": "7", "version": "1"},
    )
    assert stale.status_code == 200 and "Someone else saved this record" in stale.text
    db.session.refresh(rate)
    assert rate.rate == Decimal("9.2")
    assert db.session.scalar(select(func.count(ExchangeRate.id))) == 1


def test_only_admins_keep_rates(manager_client, users):
    assert manager_client.get("/admin/exchange-rates/").status_code == 403


def rate(year, currency, value, quote="CNY"):
    db.session.add(
        ExchangeRate(year=year, currency=currency, quote=quote, rate=Decimal(value), version_id=1)
    )


def test_agreement_values_per_currency_and_converted(manager_client, users):
    make_agreement(
        "Pound deal",
        stage="signed",
        signed_on=date(YEAR, 2, 1),
        value_amount=Decimal(1000),
        value_currency="GBP",
    )
    make_agreement(
        "Yuan deal",
        stage="signed",
        signed_on=date(YEAR, 3, 1),
        value_amount=Decimal(500),
        value_currency="CNY",
    )
    make_agreement(
        "Dollar deal",
        stage="signed",
        signed_on=date(YEAR, 4, 1),
        value_amount=Decimal(200),
        value_currency="USD",
    )
    make_agreement(
        "Old pound deal",
        stage="signed",
        signed_on=date(YEAR - 1, 4, 1),
        value_amount=Decimal(100),
        value_currency="GBP",
    )
    rate(YEAR, "GBP", "9")
    rate(YEAR - 1, "GBP", "8.5")
    rate(YEAR, "GBP", "1.25", quote="USD")
    db.session.commit()
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    table = re.search(r'id="table-values".*?</table>', page, re.S).group(0)
    assert re.search(r'data-currency="GBP">.*?data-amount>1,000.00<', table, re.S)
    assert re.search(r'data-currency="CNY">.*?data-amount>500.00<', table, re.S)
    assert re.search(r'data-currency="USD">.*?data-amount>200.00<', table, re.S)
    converted = re.search(r'id="values-converted".*?(?=<h2)', page, re.S).group(0)
    # 1000 GBP x 9 + 500 CNY; the 200 USD has no rate: shown apart, not added in.
    assert 'data-converted="9500.00"' in converted and 'data-complete="no"' in converted
    assert f"1 GBP = 9 CNY ({YEAR})" in converted
    assert re.search(rf"Not converted.*?200\.00 USD \({YEAR}\)", converted, re.S)
    # The previous period converts last year's pounds with last year's rate.
    assert 'data-converted="850.00"' in converted and f"1 GBP = 8.5 CNY ({YEAR - 1})" in converted
    # Each currency's agreement count drills down to exactly those agreements.
    for currency, n in (("GBP", 1), ("CNY", 1), ("USD", 1)):
        href = re.search(rf'data-currency="{currency}">.*?<a href="([^"]+)"', table, re.S).group(1)
        assert list_count(manager_client, href.replace("&amp;", "&")) == n
    # Reporting in dollars: the pounds convert, the yuan cannot.
    usd = manager_client.get("/dashboard/", query_string={**PERIOD, "currency": "USD"}).text
    converted = re.search(r'id="values-converted".*?(?=<h2)', usd, re.S).group(0)
    assert 'data-converted="1450.00"' in converted  # 1000 x 1.25 + 200
    assert re.search(rf"Not converted.*?500\.00 CNY \({YEAR}\)", converted, re.S)


def test_money_indicators_converted_with_each_year_rate(manager_client, users):
    populate(users)  # investment: 300 GBP reported for last year, 2,500 CNY for this year
    rate(YEAR - 1, "GBP", "9")
    db.session.commit()
    page = manager_client.get("/dashboard/", query_string=PERIOD).text
    block = re.search(
        r'data-money-indicator="investment">.*?(?=<h2|data-money-indicator)', page, re.S
    )
    text = block.group(0)
    assert 'data-converted="5200.00"' in text  # to date: 2500 + 300 x 9
    assert f"1 GBP = 9 CNY ({YEAR - 1})" in text
    # Targets use the rates of the period's end year: none for GBP, so 1,000 GBP is apart.
    assert re.search(rf"Not converted.*?1,000\.00 GBP \({YEAR}\)", text, re.S)
    assert "6,000" not in page and "3,300" not in page  # never added raw


@pytest.mark.parametrize("version", ["99999999999999999999", "-5", "0"])
def test_a_version_no_record_can_have_is_a_stale_edit_not_a_500(admin_client, users, version):
    # Found in review: a version past 64 bits overflowed the audit query (SQLite) and
    # answered 500; the edit is refused as stale instead, with the input kept.
    add(admin_client)
    [rate] = rates()
    stale = admin_client.post_form(
        f"/admin/exchange-rates/{rate.id}/edit",
        {"year": "2024", "currency": "GBP", "quote": "CNY", "rate": "7.25", "version": version},
    )
    assert stale.status_code == 200 and "Someone else saved this record" in stale.text
    assert 'value="7.25"' in stale.text
    db.session.refresh(rate)
    assert rate.rate == Decimal("9.1")
