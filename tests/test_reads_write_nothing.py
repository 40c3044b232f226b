"""No GET writes through the request's own transaction: every page and API read, swept.

On SQLite a GET's transaction begins as a read (BEGIN), and a read transaction that later
writes is refused at once while another connection writes ("database is locked"),
whatever the busy timeout. So a GET may write only apart from its own transaction, on a
connection marked for writing (`crm.db.write_aside`, the export's audit entry). This
sweep walks every GET route with the ids of real records and fails on any other write.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import has_request_context, request
from sqlalchemy import event

from crm.activities.models import Activity
from crm.api.tokens import create_token
from crm.db import WRITE_OPTION, db
from tests import factories
from tests.api.conftest import ApiClient
from tests.sweeps import SAMPLE_ARGS

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def real_records(users) -> dict[str, int]:
    manager = users["manager"]
    partner = factories.make_partner(owner=manager)
    contact = factories.make_contact(owner=manager, positions=[(partner, "Director")])
    agreement = factories.make_agreement(owner=manager, parties=[(partner, "party")])
    project = factories.make_project(owner=manager, partners=[(partner, "lead")])
    activity = Activity(title="Signing", kind="event", occurred_at=datetime(2024, 5, 1, tzinfo=UTC))
    activity.owner_id = manager.id
    activity.refresh_derived()
    db.session.add(activity)
    db.session.flush()
    return {
        "partner": partner.id,
        "contact": contact.id,
        "agreement": agreement.id,
        "project": project.id,
        "activity": activity.id,
        "user": users["staff"].id,
    }


def url_for_rule(app, rule, ids) -> str:
    kind = {
        "partners": "partner",
        "contacts": "contact",
        "agreements": "agreement",
        "projects": "project",
        "activities": "activity",
    }
    values = dict(SAMPLE_ARGS.get(rule.endpoint, {}))
    for arg in rule.arguments:
        if arg in values:
            continue
        name = arg.removesuffix("_id")
        if arg == "record_id":  # the API: api.partners_get
            name = kind.get(rule.endpoint.split(".")[1].split("_")[0], "")
        elif rule.endpoint.split(".")[0] in kind and arg not in ("a_id", "b_id"):
            name = kind[rule.endpoint.split(".")[0]] if name not in ids else name
        values[arg] = ids.get(name, 999_999) if arg.endswith("id") else "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_no_get_writes_in_its_own_transaction(app, users):
    ids = real_records(users)
    _row, token = create_token(users["admin"], "sweep", None)
    db.session.commit()
    browser = app.test_client().login_as(users["admin"])
    api = ApiClient(app, token)
    found = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if (
            has_request_context()
            and request.method in ("GET", "HEAD")
            and head in WRITES
            and not conn.get_execution_options().get(WRITE_OPTION)
        ):
            found.append((request.path, statement.split("\n")[0][:80]))

    visited = 0
    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in ("static", "bootstrap.static"):
                continue
            url = url_for_rule(app, rule, ids)
            client = api if url.startswith("/api/") else browser
            response = client.get(url)
            response.get_data()  # streamed answers (exports) run to their end
            response.close()
            assert response.status_code < 500, url
            visited += 1
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert visited > 60
    assert sorted(set(found)) == []
