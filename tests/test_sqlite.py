"""SQLite settings on every connection, and writers that wait instead of failing."""

import threading
import time

import pytest
from sqlalchemy import func, select

from crm.auth.models import User
from crm.db import db
from tests.factories import make_user


@pytest.fixture
def sqlite_app(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific: the suite is running on PostgreSQL")
    return app


def test_pragmas_on_every_connection(sqlite_app):
    for _ in range(2):
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        db.engine.dispose()


def test_concurrent_read_then_write_transactions_both_succeed(sqlite_app):
    """Two workers each read then write. With deferred BEGIN the second would fail with
    "database is locked"; with BEGIN IMMEDIATE it waits for the first and succeeds."""
    errors = []
    started = threading.Barrier(2)

    def worker(n):
        with sqlite_app.app_context():
            try:
                started.wait()
                db.session.scalar(select(func.count(User.id)))  # read first
                time.sleep(0.3)
                make_user(email=f"worker{n}@example.org")
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert db.session.scalar(select(func.count(User.id))) == 2
