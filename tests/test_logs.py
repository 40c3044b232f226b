"""Logging: each line names its request and user; JSON on demand; X-Request-ID."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import current_app

from crm.logs import REQUEST_ID_HEADER
from crm.security import requires


def _capture() -> io.StringIO:
    stream = io.StringIO()
    (handler,) = logging.getLogger("crm").handlers
    handler.setStream(stream)
    return stream


@pytest.fixture
def logged_app(make_app):
    def _make(**extra):
        app = make_app(**extra)

        @app.get("/_log_probe")
        @requires("staff")
        def _log_probe():
            current_app.logger.warning("probe %s", "line")
            return "ok"

        @app.get("/_log_probe_public")
        @requires("public")
        def _log_probe_public():
            current_app.logger.warning("probe %s", "line")
            return "ok"

        return app

    return _make


def _probe(app, user=None, headers=None):
    client = app.test_client()
    if user is None:
        return client.get("/_log_probe_public", headers=headers or {})
    return client.login_as(user).get("/_log_probe", headers=headers or {})


def test_a_line_names_the_request_and_the_user(logged_app, users):
    app = logged_app()
    stream = _capture()
    resp = _probe(app, users["staff"], {REQUEST_ID_HEADER: "proxy-id-42"})
    assert resp.status_code == 200
    assert resp.headers[REQUEST_ID_HEADER] == "proxy-id-42"
    line = stream.getvalue().strip().splitlines()[-1]
    assert f"WARNING crm.app [req=proxy-id-42 user={users['staff'].id}] probe line" in line


def test_a_request_without_a_sane_id_gets_one_made_up(logged_app, users):
    app = logged_app()
    stream = _capture()
    resp = _probe(app, headers={REQUEST_ID_HEADER: "bad id; <script>"})
    made = resp.headers[REQUEST_ID_HEADER]
    assert made != "bad id; <script>" and len(made) == 12
    assert f"[req={made} user=-]" in stream.getvalue()


def test_json_format_writes_one_object_per_line(logged_app, users):
    app = logged_app(LOG_FORMAT="json")
    stream = _capture()
    _probe(app, users["manager"])
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["message"] == "probe line"
    assert entry["level"] == "WARNING"
    assert entry["user_id"] == users["manager"].id
    assert len(entry["request_id"]) == 12


def test_an_unknown_format_stops_the_start(make_app):
    from crm.config import ConfigError

    with pytest.raises(ConfigError, match="CRM_LOG_FORMAT"):
        make_app(LOG_FORMAT="xml")
