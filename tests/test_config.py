"""create_app's layers, the generated secret key, cookies and database URLs, and how
CRM_* variables are parsed, checked and refused."""

import os
import re
import secrets
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from crm import create_app
from crm.config import ConfigError
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


# --- CRM_* values parsed by the setting's type; unknown names and bad values refused ------


def from_env(tmp_path, database_url, monkeypatch, **variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return create_app(make_overrides(database_url, tmp_path))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" On ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("OFF", False),
    ],
)
def test_booleans_accept_the_usual_words(tmp_path, database_url, monkeypatch, raw, expected):
    app = from_env(tmp_path, database_url, monkeypatch, CRM_WTF_CSRF_ENABLED=raw)
    assert app.config["WTF_CSRF_ENABLED"] is expected
    app = from_env(tmp_path, database_url, monkeypatch, CRM_SECURE_COOKIES=raw)
    assert app.config["SESSION_COOKIE_SECURE"] is expected
    assert app.config["REMEMBER_COOKIE_SECURE"] is expected


def test_csrf_turned_off_by_zero_is_off_and_check_deploy_says_so(
    tmp_path, database_url, monkeypatch
):
    from crm.cli import deploy_problems

    app = from_env(tmp_path, database_url, monkeypatch, CRM_WTF_CSRF_ENABLED="0")
    assert app.config["WTF_CSRF_ENABLED"] is False  # not the (true) text "0"
    assert "CSRF protection is off." in deploy_problems(app)


def test_numbers_lists_and_json_are_parsed(tmp_path, database_url, monkeypatch):
    app = from_env(
        tmp_path,
        database_url,
        monkeypatch,
        CRM_PAGE_SIZE=" 25 ",
        CRM_DASHBOARD_CACHE_SECONDS="0.5",
        CRM_PROXY_FIX="2",
        CRM_SQLALCHEMY_ENGINE_OPTIONS='{"pool_size": 3}',
        CRM_TRUSTED_HOSTS="crm.example.org, localhost",
        CRM_SECRET_KEY_FALLBACKS='["old-key-one", "old-key-two"]',
        CRM_WTF_CSRF_TIME_LIMIT="3600",
        CRM_PERMANENT_SESSION_LIFETIME="86400",
        CRM_SQLALCHEMY_ECHO="off",
    )
    assert app.config["PAGE_SIZE"] == 25
    assert app.config["DASHBOARD_CACHE_SECONDS"] == 0.5
    assert app.config["PROXY_FIX"] == 2
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 3
    assert app.config["TRUSTED_HOSTS"] == ["crm.example.org", "localhost"]
    assert app.config["SECRET_KEY_FALLBACKS"] == ["old-key-one", "old-key-two"]
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 3600
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=1)
    assert app.config["SQLALCHEMY_ECHO"] is False


def test_web_concurrency_sets_workers_unless_crm_workers_does(tmp_path, database_url, monkeypatch):
    monkeypatch.delenv("CRM_WORKERS", raising=False)
    app = from_env(tmp_path, database_url, monkeypatch, WEB_CONCURRENCY="4")
    assert app.config["WORKERS"] == 4
    app = from_env(tmp_path, database_url, monkeypatch, CRM_WORKERS="2")
    assert app.config["WORKERS"] == 2


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("CRM_SECURE_COOKIES", "maybe", "0, false, no or off"),
        ("CRM_RATELIMIT_ENABLED", "", "1, true, yes or on"),
        ("CRM_PAGE_SIZE", "2.5", "a whole number"),
        ("CRM_MAX_CONTENT_LENGTH", "16MB", "a whole number"),
        ("CRM_DASHBOARD_CACHE_SECONDS", "nan", "a finite number"),
        ("CRM_SQLALCHEMY_ENGINE_OPTIONS", "[1, 2]", "a JSON object"),
        ("CRM_SECRET_KEY_FALLBACKS", "[unclosed", "a JSON array"),
        ("CRM_PAGESIZE", "25", "not a setting of this CRM"),
        ("CRM_DEBUGG", "1", "not a setting of this CRM"),
        ("CRM_ENV", "prod", "development, production"),
        ("CRM_PROXY_FIX", "-1", "number of proxies"),
        ("CRM_PAGE_SIZE", "0", "1 or more"),
        ("CRM_LOGIN_RATE_LIMIT", "ten a minute", "rate limits such as"),
        ("CRM_LOGIN_ACCOUNT_RATE_LIMIT", "", "rate limits such as"),
        ("WEB_CONCURRENCY", "four", "a whole number"),
    ],
)
def test_a_bad_value_or_unknown_name_stops_the_start(
    tmp_path, database_url, monkeypatch, name, raw, expected
):
    monkeypatch.delenv("CRM_WORKERS", raising=False)
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, database_url, monkeypatch, **{name: raw})
    message = str(caught.value)
    assert name.removeprefix("CRM_") in message and expected in message


def test_every_problem_is_named_at_once(tmp_path, database_url, monkeypatch):
    with pytest.raises(ConfigError) as caught:
        from_env(tmp_path, database_url, monkeypatch, CRM_PAGE_SIZE="x", CRM_COLOUR="blue")
    assert len(caught.value.problems) == 2


def test_variables_read_outside_the_settings_are_not_refused(tmp_path, database_url, monkeypatch):
    # Every CRM_* name the project reads (tests, CI, benchmarks), found in its own files.
    root = Path(__file__).resolve().parent.parent
    read = set()
    for folder in ("crm", "tests", "bench", ".ci"):
        for path in (root / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".md", ""} and path != Path(__file__):
                read |= set(
                    re.findall(r"CRM_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="ignore"))
                )
    read |= set(re.findall(r"CRM_[A-Z][A-Z0-9_]*[A-Z0-9]\b", (root / "README.md").read_text()))
    refused = set()
    for name in sorted(read):
        if name in {"CRM_ENV", "CRM_INSTANCE_PATH"}:  # values of their own, tested apart
            continue
        with monkeypatch.context() as env:
            env.setenv(name, "1")
            try:
                create_app(make_overrides(database_url, tmp_path))
            except ConfigError as exc:
                if "not a setting" in str(exc):
                    refused.add(name)
    assert not refused


def test_flask_command_with_a_bad_variable_says_so_without_a_traceback(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_INSTANCE_PATH=str(tmp_path), CRM_DATABASE_URL=database_url)
    env.update(CRM_PAGE_SIZE="fifty", CRM_PROXYFIX="1")
    for args in (["--help"], ["check-deploy"]):
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "crm", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0, args
        assert "CRM_PAGE_SIZE must be a whole number; it is 'fifty'." in result.stderr
        assert "CRM_PROXYFIX is not a setting" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def test_gunicorn_with_a_bad_variable_stops_without_a_traceback(tmp_path, database_url):
    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed (pip install -e '.[prod]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_INSTANCE_PATH=str(tmp_path), CRM_DATABASE_URL=database_url)
    env.update(CRM_SECURE_COOKIES="sometimes")
    port = 18400 + secrets.randbelow(100)
    help_text = subprocess.run([str(gunicorn), "--help"], capture_output=True, text=True).stdout
    result = subprocess.run(
        [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "crm.wsgi:app"]
        + (["--no-control-socket"] if "--no-control-socket" in help_text else []),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CRM_SECURE_COOKIES must be 1, true, yes or on" in result.stderr
    assert "Traceback" not in result.stderr
