"""create_app's layers, the generated secret key, cookies and database URLs."""

import os
import stat
from pathlib import Path

from crm import create_app
from tests.conftest import make_overrides


def test_layers_defaults_instance_file_env_overrides(tmp_path, database_url, monkeypatch):
    (tmp_path / "config.py").write_text("PAGE_SIZE = 7\nCOUNT_CAP = 5\nWORKERS = 3\n")
    monkeypatch.setenv("CRM_COUNT_CAP", "6")
    monkeypatch.setenv("CRM_WORKERS", "4")
    app = create_app(make_overrides(database_url, tmp_path, WORKERS=5))
    assert app.config["PAGE_SIZE"] == 7  # instance/config.py over the default 50
    assert app.config["COUNT_CAP"] == 6  # environment over instance/config.py
    assert app.config["WORKERS"] == 5  # overrides over the environment
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024  # default kept


def test_environment_names_database_and_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", "postgres://u@127.0.0.1:5432/x")
    monkeypatch.setenv("CRM_SECRET_KEY", "from-the-environment-" * 3)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/x"
    assert app.config["SECRET_KEY"] == "from-the-environment-" * 3


def test_default_database_is_sqlite_under_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'crm.sqlite3'}"


def test_secret_key_generated_once_with_mode_0600(tmp_path, database_url, monkeypatch):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    first = create_app(make_overrides(database_url, tmp_path, SECRET_KEY=None))
    key_file = Path(tmp_path) / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) == 64
    second = create_app(make_overrides(database_url, tmp_path, SECRET_KEY=None))
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_production_config_and_env_switch_secure_cookies(tmp_path, database_url, monkeypatch):
    dev = create_app(make_overrides(database_url, tmp_path))
    assert dev.config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("CRM_ENV", "production")
    prod = create_app(make_overrides(database_url, tmp_path))
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("CRM_SECURE_COOKIES", "off")
    off = create_app(make_overrides(database_url, tmp_path))
    assert off.config["SESSION_COOKIE_SECURE"] is False


def test_session_cookie_flags(make_app, users):
    from tests.factories import PASSWORD

    for secure in (False, True):
        app = make_app(SESSION_COOKIE_SECURE=secure)
        client = app.test_client()
        response = client.post_form(
            "/login",
            {"email": users["staff"].email, "password": PASSWORD},
            base_url="https://localhost",
        )
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure
