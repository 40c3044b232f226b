"""API reads never fail because other requests write, and "last used" is still recorded.

Real concurrency on the test database: threads with app contexts of their own, one
writing in a loop while others call the API with tokens. On SQLite (a file database in
WAL mode) a read transaction that later tries to write is refused at once while another
connection writes ("database is locked"), whatever the busy timeout: bookkeeping such as
a token's "last used" must never do that.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crm.api import tokens as token_module
from crm.api.models import ApiToken
from crm.db import db
from tests import factories
from tests.api.conftest import ApiClient

READERS = 3
SECONDS = 3.0


@pytest.fixture
def touch_always(monkeypatch):
    """Record "last used" on every request, so each API read also tries to write."""
    monkeypatch.setattr(token_module, "TOUCH_EVERY", timedelta(0))


def test_api_reads_never_fail_while_another_request_writes(app, users, touch_always):
    texts = [token_module.create_token(users["staff"], f"t{n}", None)[1] for n in range(READERS)]
    partner_id = factories.make_partner(name_en="Seed partner").id
    # Committed and left idle: outside requests a transaction takes the write lock.
    db.session.commit()
    stop = threading.Event()
    statuses: list[int] = []
    failures: list[BaseException] = []
    writes = [0]

    def writer():
        n = 0
        try:
            while not stop.is_set():
                with app.app_context():
                    factories.make_partner(name_en=f"Written {n}")
                    db.session.commit()
                    db.session.remove()
                n += 1
                writes[0] = n
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    def reader(text):
        client = ApiClient(app, text)
        try:
            while not stop.is_set():
                for url in ("/api/v1/partners?limit=5", f"/api/v1/partners/{partner_id}"):
                    statuses.append(client.get(url).status_code)
        except BaseException as exc:  # noqa: BLE001 - a propagated 500 in testing mode
            failures.append(exc)

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(60)
    assert [f"{f!r} {getattr(f, 'statement', '')}" for f in failures] == []
    assert writes[0] > 5 and len(statuses) > 20
    assert [s for s in statuses if s != 200] == []


def test_last_use_is_recorded_at_most_once_per_interval(app, users):
    row, text = token_module.create_token(users["staff"], "sync", None)
    db.session.commit()
    client = ApiClient(app, text)
    assert client.get("/api/v1/partners").status_code == 200
    db.session.expire_all()
    first = db.session.get(ApiToken, row.id).last_used_at
    assert first is not None
    assert client.get("/api/v1/partners").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == row.id)) == first
    # Once the interval has passed, the next use is recorded again.
    db.session.get(ApiToken, row.id).last_used_at = first - token_module.TOUCH_EVERY
    db.session.commit()
    assert client.get("/api/v1/partners").status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at > first


def test_a_read_answers_even_when_last_use_cannot_be_written(app, users, caplog):
    row, text = token_module.create_token(users["staff"], "sync", None)
    db.session.commit()
    token_id = row.id
    db.session.remove()
    # Another connection holds the lock on the token (the whole database on SQLite).
    with db.engine.connect() as other:
        other.execution_options(crm_write=True)
        with other.begin():
            other.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(name="busy elsewhere")
            )
            started = time.monotonic()
            response = ApiClient(app, text).get("/api/v1/partners")
            waited = time.monotonic() - started
    assert response.status_code == 200
    assert waited < 10
    assert "Could not write an API token's last use" in caplog.text
    assert db.session.get(ApiToken, token_id).last_used_at is None
