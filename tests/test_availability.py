"""A lost database connection: reads run again once, writes answer 503, never a 500.

The fault is injected at the first statement a request sends: an error of the database
driver itself, reported to SQLAlchemy as a lost connection, as a PostgreSQL restart or
an idle connection cut by a firewall would be. On PostgreSQL the connections are also
really killed (pg_terminate_backend) between and during requests.
"""

from __future__ import annotations

import sqlite3

import pytest
from flask import has_request_context
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from crm.api.tokens import create_token
from crm.availability import database_unavailable, lost_connection
from crm.db import db
from crm.partners.models import Partner
from tests.api.conftest import ApiClient
from tests.test_errors import in_layout

SIMULATED = "server closed the connection unexpectedly (simulated)"


class Faults:
    """Make the next `count` statements sent inside a request fail as a lost connection."""

    def __init__(self, engine):
        self.engine = engine
        self.left = 0
        self.fired = 0
        self.after_commit = False
        self.committed = False

    def arm(self, count: int = 1, after_commit: bool = False) -> None:
        """`after_commit`: only once the request has committed (its rows are expired)."""
        self.left = count
        self.after_commit = after_commit
        self.committed = False

    def commit(self, conn):
        if has_request_context():  # not the test's own session
            self.committed = True

    def before(self, conn, cursor, statement, parameters, context, executemany):
        waiting = self.after_commit and not self.committed
        if self.left and has_request_context() and not waiting:
            self.left -= 1
            self.fired += 1
            raise self.engine.dialect.loaded_dbapi.OperationalError(SIMULATED)

    @staticmethod
    def handle_error(context):
        if SIMULATED in str(context.original_exception):
            context.is_disconnect = True


@pytest.fixture
def faults(app):
    made = Faults(db.engine)
    event.listen(db.engine, "before_cursor_execute", made.before)
    event.listen(db.engine, "handle_error", made.handle_error)
    event.listen(db.engine, "commit", made.commit)
    yield made
    event.remove(db.engine, "commit", made.commit)
    event.remove(db.engine, "before_cursor_execute", made.before)
    event.remove(db.engine, "handle_error", made.handle_error)


def partner_count() -> int:
    return db.session.scalar(select(func.count(Partner.id)))


def test_a_page_read_is_run_again_after_a_lost_connection(staff_client, faults):
    faults.arm(1)
    response = staff_client.get("/partners/")
    assert faults.fired == 1
    assert response.status_code == 200
    assert in_layout(response)


def test_an_api_read_is_run_again_after_a_lost_connection(app, users, faults):
    _row, token = create_token(users["staff"], "sync", None)
    db.session.commit()
    faults.arm(1)
    response = ApiClient(app, token).get("/api/v1/partners")
    assert faults.fired == 1
    assert response.status_code == 200 and response.json["items"] == []


def test_a_connection_lost_after_the_answer_does_not_spoil_it(
    staff_client, faults, monkeypatch, caplog
):
    dialect = db.engine.dialect
    original = dialect.do_rollback
    failed = []
    pending = []

    def connection_rollback(conn):  # a Connection's ROLLBACK, not the pool's own reset
        pending.append(True)

    def rollback(dbapi_connection):
        if pending and not failed:  # the first: the request's session, at teardown
            failed.append(True)
            raise dialect.loaded_dbapi.OperationalError(SIMULATED)
        return original(dbapi_connection)

    monkeypatch.setattr(dialect, "do_rollback", rollback)
    event.listen(db.engine, "rollback", connection_rollback)
    db.session.commit()
    response = staff_client.get("/partners/")
    assert failed and response.status_code == 200
    event.remove(db.engine, "rollback", connection_rollback)
    assert "Ending the request's transaction failed" in caplog.text
    assert staff_client.get("/partners/").status_code == 200


def test_a_form_write_answers_503_and_is_not_run_again(staff_client, faults):
    faults.arm(1)
    response = staff_client.post_form("/partners/new", {"name_en": "Lost in transit"})
    assert faults.fired == 1
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "The database is not answering" in response.text
    assert "check whether it was saved" in response.text
    assert in_layout(response)
    assert partner_count() == 0
    # The next attempt finds a working connection.
    again = staff_client.post_form("/partners/new", {"name_en": "Lost in transit"})
    assert again.status_code == 302 and partner_count() == 1


def test_a_write_cut_off_after_its_commit_answers_503_with_every_header(
    staff_client, faults, caplog
):
    faults.arm(1, after_commit=True)  # reading the saved partner back for the redirect
    response = staff_client.post_form("/partners/new", {"name_en": "Saved, then cut off"})
    assert faults.fired == 1
    assert response.status_code == 503 and in_layout(response)
    assert "check whether it was saved" in response.text
    assert response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Request finalizing failed" not in caplog.text
    assert partner_count() == 1  # it was saved: the page says to check before repeating


def test_an_api_write_answers_503_as_json(app, users, faults):
    _row, token = create_token(users["staff"], "sync", None)
    db.session.commit()
    faults.arm(1)
    response = ApiClient(app, token).post("/api/v1/partners", json={"name_en": "Lost"})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.is_json and "not answering" in response.json["message"]
    assert partner_count() == 0


def test_a_read_that_fails_twice_answers_503_in_the_layout(staff_client, faults):
    faults.arm(2)
    response = staff_client.get("/partners/")
    assert faults.fired == 2
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert in_layout(response) and "The database is not answering" in response.text


def test_the_503_page_is_translated(staff_client, faults):
    with staff_client.session_transaction() as sess:
        sess["locale"] = "zh_Hans"
    faults.arm(2)
    response = staff_client.get("/partners/")
    assert response.status_code == 503
    assert "The database is not answering" not in response.text
    assert "数据库" in response.text


def test_an_api_read_that_fails_twice_answers_503_as_json(app, users, faults):
    _row, token = create_token(users["staff"], "sync", None)
    db.session.commit()
    faults.arm(2)
    response = ApiClient(app, token).get("/api/v1/partners")
    assert response.status_code == 503 and response.is_json
    assert response.headers["Retry-After"].isdigit()


def test_errors_in_the_sql_are_not_taken_for_an_unavailable_database(app):
    with pytest.raises(DBAPIError) as caught:  # OperationalError on SQLite
        db.session.execute(text("SELECT * FROM no_such_table"))
    db.session.rollback()
    assert not lost_connection(caught.value)
    assert not database_unavailable(caught.value)


def test_a_locked_sqlite_database_counts_as_unavailable():
    orig = sqlite3.OperationalError("database is locked")
    orig.sqlite_errorname = "SQLITE_BUSY"
    assert database_unavailable(OperationalError("UPDATE x", {}, orig))
    assert not lost_connection(OperationalError("UPDATE x", {}, orig))


def test_the_503_page_shows_even_when_the_layout_cannot_load_the_user(staff_client, faults):
    faults.arm(3)  # the read, its second run, and the user the layout would show
    response = staff_client.get("/partners/")
    assert faults.fired == 3
    assert response.status_code == 503
    assert in_layout(response) and "The database is not answering" in response.text


# --- PostgreSQL: connections really killed --------------------------------------------

TERMINATE = (
    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def killer(app):
    """A connection of its own, outside the app's pool, that kills every other one."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: the suite is running on SQLite")
    import psycopg

    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:

        def kill() -> int:
            return len([r for r in connection.execute(TERMINATE).fetchall() if r[0]])

        yield kill


@pytest.fixture
def kill_during_request(app, killer):
    """Kill every connection just before the next statement a request sends."""
    state = {"armed": False, "killed": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        if state["armed"] and has_request_context():
            state["armed"] = False
            state["killed"] = killer()

    event.listen(db.engine, "before_cursor_execute", before)
    yield state
    event.remove(db.engine, "before_cursor_execute", before)


def test_postgres_connections_killed_between_requests(app, users, staff_client, killer):
    _row, token = create_token(users["staff"], "sync", None)
    db.session.commit()
    api = ApiClient(app, token)
    assert staff_client.get("/partners/").status_code == 200
    assert api.get("/api/v1/partners").status_code == 200
    assert killer() >= 1
    assert staff_client.get("/partners/").status_code == 200
    assert killer() >= 1
    assert api.get("/api/v1/partners").status_code == 200
    killer()
    response = staff_client.post_form("/partners/new", {"name_en": "After a restart"})
    assert response.status_code == 302
    killer()
    assert api.post("/api/v1/partners", json={"name_en": "Also after"}).status_code == 201
    db.session.rollback()  # the test's own connection was killed too
    assert partner_count() == 2


def test_postgres_connections_killed_during_requests(app, users, staff_client, kill_during_request):
    _row, token = create_token(users["staff"], "sync", None)
    db.session.commit()
    api = ApiClient(app, token)
    for read in (lambda: staff_client.get("/partners/"), lambda: api.get("/api/v1/partners")):
        kill_during_request["armed"] = True
        response = read()
        assert kill_during_request["killed"] >= 1
        assert response.status_code == 200
    kill_during_request["armed"] = True
    response = staff_client.post_form("/partners/new", {"name_en": "Cut off"})
    assert kill_during_request["killed"] >= 1
    assert response.status_code == 503 and in_layout(response)
    kill_during_request["armed"] = True
    response = api.post("/api/v1/partners", json={"name_en": "Cut off too"})
    assert response.status_code == 503 and response.is_json
    db.session.rollback()
    assert partner_count() == 0


def test_a_worker_started_while_the_database_is_down_serves_503_not_a_crash(tmp_path):
    """gunicorn imports crm.wsgi in each worker: with PostgreSQL unreachable it must not
    exit (which stops the whole server) but answer 503 until the database is back."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(
        CRM_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/crm_down",
        CRM_INSTANCE_PATH=str(tmp_path / "instance"),
        CRM_SECRET_KEY="outage-" + "k" * 40,
    )
    probe = (
        "import crm.wsgi as w\n"
        "r = w.app.test_client().get('/login')\n"
        "print('status', r.status_code, r.headers.get('Retry-After'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "status 503 5" in done.stdout
    assert "not answering" in done.stderr
    assert "Traceback" not in done.stderr
