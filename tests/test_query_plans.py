"""Planner statistics must not make pages slower: after ANALYZE on skewed data (most
partners have no parent, most agreements amend nothing, most parties name no signatory),
the detail pages' children, amendments and signed-agreements queries still read their own
(partial) index, not the whole name or signing-date index."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from crm.db import db
from tests.factories import make_agreement, make_contact, make_partner


@pytest.fixture
def skewed(app, users):
    from crm.demo import add_synthetic

    add_synthetic(600, agreements=600)
    parent = make_partner("Parent body")
    for n in range(3):
        make_partner(f"Child {n}", parent_id=parent.id)
    childless = make_partner("No children")
    original = make_agreement("Original")
    for n in range(2):
        make_agreement(f"Amendment {n}", amends_id=original.id, amendment_kind="amends")
    lonely = make_agreement("Never amended")
    signer = make_contact("Signer")
    make_agreement("Signed", parties=[(parent, "party", signer)])
    nobody = make_contact("Signed nothing")
    db.session.commit()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.engine.dispose()  # SQLite reads its statistics when a connection opens
    return {
        "parent": parent.id,
        "childless": childless.id,
        "original": original.id,
        "lonely": lonely.id,
        "signer": signer.id,
        "nobody": nobody.id,
    }


def captured(app, client, url, marker):
    """The SQL (and parameters) the page ran whose text contains `marker`."""
    found = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if marker in statement:
            found.append((statement, parameters))

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    assert len(found) == 1, found
    return found[0]


def plan(statement, parameters) -> str:
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(r[-1]) for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(r[0] for r in rows)


def assert_reads_index_in_order(text, index):
    assert index in text, text
    assert "TEMP B-TREE" not in text, text  # SQLite: no sort of the whole set
    assert "Sort" not in text, text  # PostgreSQL: the same
    assert "Seq Scan" not in text, text


def test_children_and_amendments_read_their_index_and_show(app, staff_client, skewed):
    for which in ("parent", "childless"):
        statement, parameters = captured(
            app, staff_client, f"/partners/{skewed[which]}", "partner.parent_id ="
        )
        assert_reads_index_in_order(plan(statement, parameters), "ix_partner_parent_sort")
    for which in ("original", "lonely"):
        statement, parameters = captured(
            app, staff_client, f"/agreements/{skewed[which]}", "agreement.amends_id ="
        )
        assert_reads_index_in_order(plan(statement, parameters), "ix_agreement_amends_signed")
    for which in ("signer", "nobody"):
        statement, parameters = captured(
            app, staff_client, f"/contacts/{skewed[which]}", "agreement_party.signatory_id ="
        )
        text = plan(statement, parameters)
        assert "ix_agreement_party_signatory" in text, text
        assert "ix_agreement_signed_sort_id" not in text, text  # not every agreement

    page = staff_client.get(f"/partners/{skewed['parent']}").text
    assert all(f"Child {n}" in page for n in range(3))
    page = staff_client.get(f"/agreements/{skewed['original']}").text
    assert all(f"Amendment {n}" in page for n in range(2))
    assert "Signed" in staff_client.get(f"/contacts/{skewed['signer']}").text
