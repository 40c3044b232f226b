"""Requests that outlive a lost database connection, and a clear 503 when they cannot.

A PostgreSQL restart or failover, or a firewall cutting an idle connection, breaks the
connections the pool holds. Pre-ping (see `crm.app._complete_config`) replaces a dead
connection when a request checks one out; this module covers the connection that dies
while a request is using it:

- a read (GET/HEAD) is run again once, from its before-request hooks on, on a fresh
  connection: it changed nothing, so running it twice is safe;
- a write is never run again (it may have been committed before the connection went),
  and answers 503 with Retry-After, as does a read whose second run fails too, or a
  database that is busy or unreachable: a page in the layout, or JSON under /api/.

SQLAlchemy tells a lost connection apart (`connection_invalidated`, set by each dialect's
`is_disconnect`) and invalidates the pool's older connections along with it.
"""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from crm.api.errors import error_response
from crm.db import db
from crm.extensions import login_manager

RETRY_METHODS = {"GET", "HEAD"}
RETRY_AFTER_SECONDS = 5
log = logging.getLogger(__name__)
# SQLite errors that say the database is busy or cannot be reached, not that the SQL is
# wrong: worth trying again in a moment.
SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN")
# PostgreSQL classes of OperationalError that depend on the statement, not the moment:
# 54 (program limit exceeded).
POSTGRES_PERMANENT = ("54",)


class DatabaseUnavailable(ServiceUnavailable):
    """The database did not answer: try again in a moment (503 with Retry-After)."""

    def __init__(self):
        super().__init__()
        self.retry_after = RETRY_AFTER_SECONDS


def lost_connection(exc: BaseException) -> bool:
    """The connection went away (or could not be made): a fresh one may well work."""
    if isinstance(exc, DisconnectionError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    # A connection that could not be made has no statement.
    return exc.connection_invalidated or (isinstance(exc, OperationalError) and not exc.statement)


def database_unavailable(exc: BaseException) -> bool:
    """A lost connection, or a database too busy to answer now (not an error in the SQL)."""
    if lost_connection(exc):
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return getattr(orig, "sqlite_errorname", "").startswith(SQLITE_UNAVAILABLE)
    sqlstate = getattr(orig, "sqlstate", None) or ""
    return not sqlstate.startswith(POSTGRES_PERMANENT)


def forget_request_state() -> None:
    """Drop what the failed run left: its transaction and the rows it loaded.

    Rows are detached rather than expired, so an error page can still show the signed-in
    user from what was loaded, without asking the database again.
    """
    user = g.get("_login_user")
    db.session.expunge_all()
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.close()
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    if state is not None and (state.expired or state.expired_attributes):
        # Expired by a commit and now detached: it could not be read again. What follows
        # (the error page, the response headers) sees a signed-out visitor instead.
        login_manager._update_request_context_with_user(None)


class CRMFlask(Flask):
    """Flask with a read run again once after a lost database connection."""

    def full_dispatch_request(self):
        try:
            return super().full_dispatch_request()
        except (DBAPIError, DisconnectionError) as exc:
            if not database_unavailable(exc):
                raise
            failure = exc
        forget_request_state()
        if lost_connection(failure) and request.method in RETRY_METHODS:
            self.logger.warning("Database connection lost; running %s again", request.path)
            for name in list(g):  # the second run starts afresh, as a new request would
                g.pop(name)
            try:
                return super().full_dispatch_request()
            except (DBAPIError, DisconnectionError) as exc:
                if not database_unavailable(exc):
                    raise
                failure = exc
            forget_request_state()
        self.logger.error("Database unavailable: %s", failure)
        response = self.handle_user_exception(DatabaseUnavailable())
        return self.finalize_request(response, from_error_handler=True)


def unavailable_message() -> tuple[str, str]:
    """The title and explanation of the 503 answer."""
    return (
        _("The database is not answering"),
        _(
            "Wait a moment and try again. If you were saving a change, check whether it "
            "was saved before you make it again."
        ),
    )


def handle_unavailable(error: DatabaseUnavailable):
    """The 503 answer: a page in the layout, or JSON under /api/; both with Retry-After."""
    try:
        return _unavailable_response()
    except SQLAlchemyError:
        # The language or the layout needed the signed-in user: answer as signed out.
        forget_request_state()
        login_manager._update_request_context_with_user(None)
        return _unavailable_response()


def _unavailable_response():
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):  # outside the API blueprint's own handlers
        return error_response(503, headers=headers)
    title, detail = unavailable_message()
    g.error_code = 503
    page = render_template("errors/error.html", code=503, title=title, detail=detail)
    return page, 503, headers


def end_session_quietly(_exc=None) -> None:
    """Teardown: close the request's session even when its connection is gone.

    The answer is made by then; a connection lost since (killed while the request was
    idle in its transaction) must not turn it into a 500 when the session is closed.
    Runs before Flask-SQLAlchemy's own teardown, which then finds it closed. Closing
    detaches the loaded rows without expiring them, as Flask-SQLAlchemy does: a streamed
    answer (an export, an import report) still reads them afterwards.
    """
    try:
        db.session.close()
    except SQLAlchemyError as exc:
        log.warning("Ending the request's transaction failed: %s", exc)
        try:
            db.session().invalidate()  # drop the connection without a word to the server
        except SQLAlchemyError:
            log.exception("Closing the request's session failed")


def register(app: Flask) -> None:
    app.register_error_handler(DatabaseUnavailable, handle_unavailable)
    # Teardown functions run last registered first: this one before Flask-SQLAlchemy's.
    app.teardown_appcontext(end_session_quietly)
