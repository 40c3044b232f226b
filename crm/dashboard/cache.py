"""The dashboard's aggregates, kept in an in-process dict on the app and cleared by writes.

Any session commit whose transaction wrote to a table the figures read (flushed ORM
changes, or an INSERT/UPDATE/DELETE run through the session) clears the cache of the app
it ran in; a rolled-back write leaves its mark, so the next commit clears (harmless).
Other processes (several web workers) are not told: entries also expire after
DASHBOARD_CACHE_SECONDS (default 300), which bounds how stale another worker's page can
be. Writes made outside the ORM session (raw engine connections) rely on that expiry.
"""

from __future__ import annotations

import threading
from time import monotonic

from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event, inspect

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


class DashboardCache:
    """key -> (expires at, value); a generation counter stops a computation that raced a
    write from storing figures read before it."""

    def __init__(self):
        self.entries: dict = {}
        self.generation = 0
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.entries.clear()

    def get_or_compute(self, key, compute, seconds: float):
        entry = self.entries.get(key)
        if entry is not None and entry[0] > monotonic():
            return entry[1]
        generation = self.generation
        value = compute()
        with self.lock:
            if generation == self.generation:
                if len(self.entries) >= MAX_ENTRIES:
                    self.entries.clear()
                self.entries[key] = (monotonic() + seconds, value)
        return value


def app_cache(app=None) -> DashboardCache:
    app = app or current_app
    cache = app.extensions.get(KEY)
    if cache is None:
        cache = app.extensions.setdefault(KEY, DashboardCache())
    return cache


def cached(key, compute):
    """For queries.dashboard_data: the current app's cached value, computed when missing."""
    seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", DEFAULT_SECONDS)
    if not seconds:
        return compute()
    return app_cache().get_or_compute(key, compute, seconds)


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
    if not state.is_select:
        state.session.info[_DIRTY] = True


def _after_commit(session):
    if session.info.pop(_DIRTY, False) and has_app_context():
        cache = current_app.extensions.get(KEY)
        if cache is not None:
            cache.clear()


def install() -> None:
    """Listen on Flask-SQLAlchemy's session class (once, whatever the number of apps)."""
    for name, listener in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _orm_execute),
        ("after_commit", _after_commit),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


install()
