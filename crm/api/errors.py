"""Errors as JSON: {"message": ..., "errors": {"field": ["..."]}}, never an HTML page.

Views raise `ApiError` for refusals they decide on; every other HTTP error raised under
/api/ (routing, CSRF, body too large, rate limit ...) is turned into the same shape.
"""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from crm.db import db

# The statuses the API answers with besides success; the OpenAPI document lists them.
STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503)


def default_message(status: int) -> str:
    messages = {
        400: lambda: _("The request could not be understood"),
        401: lambda: _("Sign in first: send an API token as Authorization: Bearer <token>."),
        403: lambda: _("You may not do this."),
        404: lambda: _("There is no such record or address."),
        405: lambda: _("This action is not allowed here"),
        409: lambda: _("The record changed meanwhile."),
        413: lambda: _("The request body is too large."),
        415: lambda: _("Send the body as JSON, with Content-Type: application/json."),
        422: lambda: _("Some fields are not valid."),
        429: lambda: _("Too many requests: wait a little and try again."),
        500: lambda: _("Something went wrong on our side"),
        503: lambda: _("The database is not answering: wait a moment and try again."),
    }
    return messages.get(status, messages[400])()


class ApiError(Exception):
    """A refusal with its status, a message and, optionally, messages per field."""

    def __init__(self, status: int, message: str | None = None, errors=None, **extra):
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.errors = errors or {}
        self.extra = extra


def error_response(status: int, message: str | None = None, errors=None, headers=None, **extra):
    body = {"message": message or default_message(status), "errors": errors or {}}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_api_error(error: ApiError):
    return error_response(error.status, error.message, error.errors, **error.extra)


def handle_http_error(error):
    """Any HTTP error under /api/ as JSON (CSRF, 404, 405, 413, 429 ...)."""
    if not isinstance(error, HTTPException):  # an unexpected exception: 500
        db.session.rollback()
        return error_response(500)
    status = error.code or 500
    if status == 500:
        db.session.rollback()
    if status not in STATUSES:
        status = 400
    message = None
    if isinstance(error, CSRFError):
        message = _(
            "The request was stale or incomplete: its CSRF token is missing or wrong. API "
            "clients send a token as Authorization: Bearer <token>; pages of this site "
            "send their CSRF token in the X-CSRFToken header."
        )
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if status == 503 and isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return error_response(status, message, headers=headers)


def register(bp) -> None:
    """Answer with JSON for every error raised inside the API blueprint."""
    bp.register_error_handler(ApiError, handle_api_error)
    bp.register_error_handler(CSRFError, handle_http_error)
    # By code as well as by class: the app's own handlers are registered by code, and a
    # code-specific handler wins over a class-based one.
    for status in STATUSES:
        bp.register_error_handler(status, handle_http_error)
    bp.register_error_handler(HTTPException, handle_http_error)
