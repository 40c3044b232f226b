"""The dashboard's aggregates, cached in each worker and invalidated for all of them.

What is shared is a version, not the figures: row 1 of `dashboard_version` (in the
database every worker and host already shares). A session commit whose transaction wrote
to a table the figures read (flushed ORM changes, or an INSERT/UPDATE/DELETE run through
the session on such a table, or any textual statement) bumps that version in the same
transaction, so the new version becomes visible exactly when the write does. Each page
reads the version once (one small statement) and keeps its figures in this process under
(version, filters): after a write in any worker, every worker's next page finds no entry
for the new version and computes afresh; entries of older versions are dropped. A
computation that raced a write stores its figures under the version it read before them,
which nobody asks for any more. A write rolled back after its flush leaves its mark on
the session: the next commit bumps (harmless).

Entries also expire after DASHBOARD_CACHE_SECONDS (default 300; 0 turns the cache off):
the bound on staleness for writes made outside the ORM session (raw engine connections,
another program writing to the database), which do not bump the version.
"""

from __future__ import annotations

import threading
from time import monotonic

from flask import current_app, g, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import Delete, Engine, Insert, Update, event, inspect, select, text

from crm.dashboard.models import DashboardVersion
from crm.db import WRITE_OPTION, db

KEY = "dashboard_cache"
MAX_ENTRIES = 256
DEFAULT_SECONDS = 300
# The tables the cached aggregates read.
TABLES = frozenset(
    {
        "activity",
        "activity_partner",
        "agreement",
        "agreement_party",
        "exchange_rate",
        "follow_up",
        "indicator",
        "indicator_actual",
        "indicator_kind",
        "milestone",
        "partner",
        "project",
        "project_partner",
        "user",
    }
)
_DIRTY = "dashboard_cache_dirty"
# One statement on both SQLite (>= 3.24) and PostgreSQL; creates the row when missing.
BUMP = text(
    "INSERT INTO dashboard_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = dashboard_version.version + 1"
)


class DashboardCache:
    """(version, key) -> (expires at, value), for the newest version seen only."""

    def __init__(self):
        self.entries: dict = {}
        self.version: int | None = None
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def get_or_compute(self, version: int, key, compute, seconds: float):
        entry = self.entries.get((version, key))
        if entry is not None and entry[0] > monotonic():
            return entry[1]
        value = compute()
        with self.lock:
            if self.version is None or version > self.version:
                # A newer version: every entry held is stale.
                self.entries.clear()
                self.version = version
            if version == self.version:
                if len(self.entries) >= MAX_ENTRIES:
                    self.entries.clear()
                self.entries[(version, key)] = (monotonic() + seconds, value)
        return value


def app_cache(app=None) -> DashboardCache:
    app = app or current_app
    cache = app.extensions.get(KEY)
    if cache is None:
        cache = app.extensions.setdefault(KEY, DashboardCache())
    return cache


def current_version() -> int:
    """The shared version, read once per request (0 before any write bumped it)."""
    if "dashboard_version" not in g:
        g.dashboard_version = (
            db.session.scalar(select(DashboardVersion.version).where(DashboardVersion.id == 1)) or 0
        )
    return g.dashboard_version


def cached(key, compute):
    """The cached value for `key` at the current version, computed when missing."""
    # A number, or its text when set as CRM_DASHBOARD_CACHE_SECONDS.
    seconds = float(current_app.config.get("DASHBOARD_CACHE_SECONDS", DEFAULT_SECONDS) or 0)
    if not seconds:
        return compute()
    return app_cache().get_or_compute(current_version(), key, compute, seconds)


def _touches(objects) -> bool:
    for obj in objects:
        mapper = inspect(obj).mapper
        if any(getattr(t, "name", None) in TABLES for t in mapper.tables):
            return True
    return False


def _after_flush(session, _context):
    if not session.info.get(_DIRTY) and (
        _touches(session.new) or _touches(session.dirty) or _touches(session.deleted)
    ):
        session.info[_DIRTY] = True


def _orm_execute(state):
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name in TABLES:  # textual SQL: assume it may change the figures
        state.session.info[_DIRTY] = True


def _before_commit(session):
    # Flush first: changes still pending would otherwise be flushed after this hook.
    session.flush()
    if session.info.pop(_DIRTY, False):
        session.connection().execute(BUMP)
        session.info["dashboard_bumped"] = True


def _after_commit(session):
    if session.info.pop("dashboard_bumped", False) and has_app_context():
        cache = current_app.extensions.get(KEY)
        if cache is not None:
            cache.clear()
        g.pop("dashboard_version", None)


def _after_aside_execute(conn, clauseelement, multiparams, params, execution_options, result):
    """A write made apart from the session (`crm.db.write_aside`, such as the standard
    indicator kinds added while a form is shown) to a table the figures read bumps the
    version in its own transaction, as a session commit does."""
    if not conn.get_execution_options().get(WRITE_OPTION):
        return
    if not isinstance(clauseelement, Insert | Update | Delete):
        return
    if clauseelement.table.name in TABLES:
        conn.execute(BUMP)


def install() -> None:
    """Listen on Flask-SQLAlchemy's session class and on every engine's writes made
    apart (once, whatever the number of apps)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _orm_execute),
        ("before_commit", _before_commit),
        ("after_commit", _after_commit),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    if not event.contains(Engine, "after_execute", _after_aside_execute):
        event.listen(Engine, "after_execute", _after_aside_execute)
