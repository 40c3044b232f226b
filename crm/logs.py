"""Logging: one configuration for the app, its commands and gunicorn's workers.

Every line names the request it belongs to and the signed-in user, so the lines of one
request can be found among several workers' output:

    2026-12-04 16:20:01,123 INFO crm.app [req=5f0c2a9e41b7 user=3] import 12: batch refused

`CRM_LOG_FORMAT=json` writes one JSON object per line instead (for a log collector);
`CRM_LOG_LEVEL` sets the level (INFO). The request id is taken from an `X-Request-ID`
header set by the proxy when it is a sane token, otherwise made up, and is sent back in
the response's `X-Request-ID`.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` to every record ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = "-"
        record.user_id = "-"
        if has_request_context():
            record.request_id = getattr(g, "request_id", None) or "-"
            user_id = getattr(g, "log_user_id", None)
            if user_id is None:
                user_id = _current_user_id()
            record.user_id = user_id if user_id is not None else "-"
        return True


def _current_user_id():
    # Reads the user only when Flask-Login has already loaded it for this request, so a
    # log line never triggers a database query of its own.
    user = getattr(g, "_login_user", None)
    return getattr(user, "id", None) if user is not None else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and user."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(fmt: str, level: str) -> dict:
    """The dictConfig for a format ('text' or 'json') and a level."""
    formatter = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[req=%(request_id)s user=%(user_id)s] %(message)s"
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": RequestContextFilter}},
        "formatters": {"crm": formatter},
        "handlers": {
            "crm": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "crm",
                "filters": ["context"],
            }
        },
        "loggers": {
            # The app's logger (app.logger is "crm.app"), the package's modules, and the
            # libraries whose messages matter to an operator.
            "crm": {"handlers": ["crm"], "level": level, "propagate": False},
            "alembic": {"handlers": ["crm"], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(app: Flask) -> None:
    """Install the logging configuration and the request id for `app`."""
    # Both were checked with the rest of the configuration (crm.config.validate).
    fmt, level = app.config["LOG_FORMAT"].strip(), app.config["LOG_LEVEL"].strip()
    logging.config.dictConfig(logging_config(fmt, level))
    # Flask's own default handler would print each line a second time.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_ID.fullmatch(incoming) else secrets.token_hex(6)

    @app.after_request
    def send_request_id(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response
