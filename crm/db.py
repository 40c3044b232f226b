"""The database object, the declarative base, shared column types and mixins, and the
per-connection SQLite settings (foreign keys, WAL, busy timeout, immediate writes)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Executable, MetaData, event, types
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable across databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """The current time in UTC; used as a callable default, never evaluated at import."""
    return datetime.now(UTC)


class UTCDateTime(types.TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite has no time zones, so values are stored naive in UTC and tagged on the way out.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TimestampMixin:
    """created_at / updated_at in UTC, set by callables at flush time."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


_reading_only: contextvars.ContextVar[bool] = contextvars.ContextVar("reading_only", default=False)

# How often a pooled SQLite connection refreshes the planner's statistics on check-in.
OPTIMIZE_EVERY_SECONDS = 3600


@contextlib.contextmanager
def reading_only() -> Iterator[None]:
    """Transactions begun inside this block are plain (deferred) BEGINs on SQLite.

    For work that only reads outside a request (the schema check on start, `user list`,
    a backup): under WAL it reads a snapshot and never waits for another process's write
    lock, where BEGIN IMMEDIATE would wait up to the busy timeout behind a bulk load.
    """
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


def optimize_sqlite(dbapi_connection, all_tables: bool = False) -> bool:
    """Refresh the planner's statistics without ever waiting for the write lock.

    `PRAGMA optimize` analyses the tables this connection used whose statistics are
    missing or stale; `all_tables` analyses every table (after migrations and bulk loads:
    SQLite before 3.46 ignores optimize's 0x10000 "every table" flag). ANALYZE writes
    sqlite_stat1, so it needs the write lock: when another connection holds it the
    statistics are refreshed another time. `analysis_limit` keeps the work to a sample of
    each index (milliseconds even at a million rows). True if it ran.
    """
    cursor = dbapi_connection.cursor()
    try:
        timeout = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute("PRAGMA analysis_limit=400")
            cursor.execute("ANALYZE" if all_tables else "PRAGMA optimize")
            return True
        except sqlite3.OperationalError:  # locked by another writer: next time
            return False
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(timeout)}")
    finally:
        cursor.close()


# How long a SQLite connection waits for another writer before "database is locked".
BUSY_TIMEOUT_MS = 30000


def configure_sqlite(engine: Engine, immediate_outside_requests: bool = True) -> None:
    """Foreign keys, WAL and a busy timeout on every connection; writes take the lock up front.

    pysqlite's own transaction handling is turned off so that SQLAlchemy's BEGIN is the one
    sent: BEGIN IMMEDIATE for anything that may write (non-GET requests, CLI commands), so
    a second worker waits for the lock (busy_timeout) instead of failing mid-transaction
    with "database is locked". Browser tests, whose test thread only reads while the
    served app writes, turn the CLI default off with SQLITE_IMMEDIATE_OUTSIDE_REQUESTS.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Reads through the OS page cache without copying (256 MiB window) and a
            # 64 MiB page cache per connection: 10-20% off large lists and dashboards.
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()
        _record.info["optimized_at"] = time.monotonic()

    if engine.url.database not in (None, "", ":memory:"):

        @event.listens_for(engine, "checkin")
        def _refresh_statistics(dbapi_connection, record):
            # SQLite's advice for long-lived connections: PRAGMA optimize now and then
            # (and before closing, below), so the planner's statistics follow the data.
            if dbapi_connection is None or record is None:
                return
            if time.monotonic() - record.info.get("optimized_at", 0) < OPTIMIZE_EVERY_SECONDS:
                return
            record.info["optimized_at"] = time.monotonic()
            optimize_sqlite(dbapi_connection)

        @event.listens_for(engine, "close")
        def _optimize_before_close(dbapi_connection, _record):
            with contextlib.suppress(sqlite3.Error):
                optimize_sqlite(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(WRITE_OPTION):
            reading = False
        elif _reading_only.get():
            reading = True
        elif has_request_context():
            reading = request.method in ("GET", "HEAD", "OPTIONS")
        else:
            reading = not immediate_outside_requests
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# An execution option that makes a connection's transactions writes (BEGIN IMMEDIATE on
# SQLite) whatever the request's method: see `write_aside`.
WRITE_OPTION = "crm_write"
# How long a bookkeeping write may wait for another writer before it gives up.
ASIDE_WAIT_MS = 1000

log = logging.getLogger(__name__)


def write_aside(*statements: Executable, what: str) -> bool:
    """Run small writes (a token's "last used") apart from the request, in one transaction.

    They have a connection and a short transaction of their own, begun as a write (BEGIN
    IMMEDIATE on SQLite), so they never upgrade the request's read transaction: on SQLite
    that upgrade is refused at once ("database is locked") when another connection wrote
    since the read began, whatever the busy timeout. They wait at most ASIDE_WAIT_MS for
    another writer, and a failure is logged and swallowed: bookkeeping must never turn a
    read into an error. The caller must not hold a write transaction itself (the writes
    would wait for it). Returns whether the writes were made.
    """
    try:
        with db.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            if connection.dialect.name == "sqlite":
                _sqlite_write_aside(connection, statements)
            else:
                with connection.begin():
                    wait = f"'{ASIDE_WAIT_MS}ms'"
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait}")
                    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {wait}")
                    for statement in statements:
                        connection.execute(statement)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        log.warning("Could not write %s: %s", what, exc)
        return False
    return True


def _sqlite_write_aside(connection, statements: tuple[Executable, ...]) -> None:
    # The busy timeout is the connection's; it is put back before the connection returns
    # to the pool, and a connection that cannot be put back is thrown away.
    raw = connection.connection.dbapi_connection
    raw.execute(f"PRAGMA busy_timeout={ASIDE_WAIT_MS}")
    try:
        with connection.begin():
            for statement in statements:
                connection.execute(statement)
    finally:
        try:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlite3.Error:
            connection.invalidate()
            raise
