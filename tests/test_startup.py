"""Starting the app for real: SQLite migrates itself; a schema behind the code refuses."""

import os
import sqlite3
import subprocess
import sys


def start(tmp_path, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_INSTANCE_PATH=str(tmp_path), **env_extra)
    return subprocess.run(
        [sys.executable, "-c", "import crm.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fresh_sqlite_start_migrates_and_prints_setup_code(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
    code = (tmp_path / "setup-code").read_text().strip()
    assert code in result.stderr
    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "crm.sqlite3").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"user", "alembic_version"} <= tables
    # A second start reuses the key and the code.
    key = (tmp_path / "secret_key").read_text()
    assert start(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert (tmp_path / "setup-code").read_text().strip() == code


def test_schema_behind_refuses_to_start_naming_the_upgrade_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    result = start(tmp_path, CRM_ENV="production", CRM_DATABASE_URL=url)
    assert result.returncode == 3
    assert "flask --app crm db upgrade" in result.stderr


def test_requests_get_an_explanation_until_the_schema_is_upgraded(tmp_path):
    from flask_migrate import upgrade

    from crm import create_app
    from crm.app import ROOT
    from crm.db import db

    url = f"sqlite:///{tmp_path / 'gate.sqlite3'}"
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": url,
            "ENV_NAME": "production",
            "SECRET_KEY": "k" * 40,
        }
    )
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "flask --app crm db upgrade" in response.text
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    assert app.test_client().get("/setup").status_code == 200
    with app.app_context():
        db.engine.dispose()
