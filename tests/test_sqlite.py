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


def stat_tables(conn) -> set[str]:
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
    ).scalar()
    if not exists:
        return set()
    return {r[0] for r in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}


def test_statistics_refreshed_on_check_in_without_waiting_for_the_lock(sqlite_app, monkeypatch):
    """PRAGMA optimize runs now and then as connections go back to the pool, and never
    waits for (or fails on) another connection's write lock."""
    import sqlite3

    import crm.db
    from crm.db import optimize_sqlite
    from tests.factories import make_partner

    for n in range(50):
        make_partner(f"Partner {n}", country="CN")
    db.session.commit()
    db.session.remove()
    db.engine.dispose()
    with db.engine.connect() as conn:
        if stat_tables(conn):
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        conn.commit()
    db.engine.dispose()

    monkeypatch.setattr(crm.db, "OPTIMIZE_EVERY_SECONDS", 0)
    with db.engine.connect() as conn:  # a page's query on an indexed column
        conn.exec_driver_sql("SELECT id FROM partner WHERE country = 'CN' ORDER BY sort_name")
    with db.engine.connect() as conn:
        assert "partner" in stat_tables(conn)

    # Another process holds the write lock: no wait, no error, busy timeout restored.
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            started = time.perf_counter()
            assert optimize_sqlite(raw, all_tables=True) is False
            assert time.perf_counter() - started < 1
            assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    finally:
        holder.rollback()
        holder.close()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        conn.commit()
        # After migrations and bulk loads: every table with rows, used here or not.
        assert optimize_sqlite(conn.connection.dbapi_connection, all_tables=True) is True
        assert "partner" in stat_tables(conn)
