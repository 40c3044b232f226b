"""Fixtures: an app on a clean database, clients per role, CSRF-aware posting.

The suite runs on SQLite by default and on PostgreSQL when CRM_TEST_DATABASE_URL is set.
The schema is created once per session; each test gets an app whose tables are emptied
afterwards.
"""

from __future__ import annotations

import os
import secrets

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from crm import create_app
from crm.db import db
from tests import factories

TEST_DATABASE_URL = os.environ.get("CRM_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-" + "x1y2z3" * 8


class CRMClient(FlaskClient):
    """A test client that can produce a valid CSRF token for its own session.

    Each request runs in an app context of its own, as in production: its own `g` and its
    own database session. The test's session is committed first, so what the test set up
    is visible to the request and no transaction of the test's holds a lock meanwhile.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def post_form(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login_as(self, user) -> CRMClient:
        """Sign in without the password round-trip (login itself is tested elsewhere)."""
        with self.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return self


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def make_overrides(database_url, instance_path, **extra):
    overrides = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": TEST_SECRET,
        "RATELIMIT_ENABLED": False,
    }
    overrides.update(extra)
    return overrides


def reset_schema(app) -> None:
    from crm.search.index import create_search_index

    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.metadata.drop_all(db.engine)
        db.create_all()
        create_search_index(db.engine)
        db.engine.dispose()


def empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app(make_overrides(database_url, tmp_path_factory.mktemp("instance")))
    reset_schema(app)
    return database_url


@pytest.fixture
def make_app(_schema, tmp_path):
    """Build an app on the test database with extra overrides; tables emptied afterwards."""
    made = []

    def _make(**extra):
        app = create_app(make_overrides(_schema, tmp_path / "instance", **extra))
        app.test_client_class = CRMClient
        made.append(app)
        return app

    yield _make
    on_test_db = [a for a in made if a.config["SQLALCHEMY_DATABASE_URI"] == _schema]
    if made and not on_test_db:
        on_test_db = [create_app(make_overrides(_schema, tmp_path / "instance"))]
    for app in made:
        with app.app_context():
            db.engine.dispose()
    if on_test_db:
        empty_tables(on_test_db[0])


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def users(app):
    """One user per role, committed."""
    made = {role: factories.make_user(role=role) for role in ("staff", "manager", "admin")}
    db.session.commit()
    return made


@pytest.fixture
def staff_client(app, users):
    return app.test_client().login_as(users["staff"])


@pytest.fixture
def manager_client(app, users):
    return app.test_client().login_as(users["manager"])


@pytest.fixture
def admin_client(app, users):
    return app.test_client().login_as(users["admin"])


def pytest_terminal_summary(terminalreporter):
    from tests.sweeps import CASE_COUNTS

    if CASE_COUNTS:
        terminalreporter.section("route sweeps")
        for name, count in sorted(CASE_COUNTS.items()):
            terminalreporter.write_line(f"{name}: {count} cases")
