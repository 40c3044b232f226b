"""Starting the app for real: SQLite migrates itself; a schema behind the code refuses."""

import os
import sqlite3
import subprocess
import sys
import time


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


def flask_cli(tmp_path, *args, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_INSTANCE_PATH=str(tmp_path))
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "crm", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.perf_counter() - started


def migrated_instance(tmp_path):
    result = start(tmp_path)  # a server start: migrates a fresh SQLite database
    assert result.returncode == 0, result.stderr
    return tmp_path / "crm.sqlite3"


def test_commands_do_not_wait_for_another_process_holding_the_write_lock(tmp_path):
    """A long bulk load holds SQLite's write lock; `--help` and read-only commands must
    neither wait for it (30 s busy timeout) nor print Alembic lines or the setup code."""
    path = migrated_instance(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO dashboard_version (id, version) VALUES (99, 1)")
    try:
        for args in (["--help"], ["user", "list"], ["documents", "check"]):
            result, seconds = flask_cli(tmp_path, *args)
            output = result.stdout + result.stderr
            assert result.returncode == 0, output
            assert seconds < 15, (args, seconds)
            assert "Traceback" not in output
            assert "alembic" not in output.lower()
            assert "setup code" not in output
    finally:
        holder.rollback()
        holder.close()


def test_ordinary_commands_neither_migrate_nor_crash_on_a_fresh_database(tmp_path):
    result, _seconds = flask_cli(tmp_path, "user", "list")
    assert result.returncode == 1
    assert "flask --app crm db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert "alembic" not in result.stderr.lower()
    tables = sqlite3.connect(tmp_path / "crm.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type='table'"
    )
    assert tables.fetchall() == []


def test_flask_run_and_demo_migrate_a_fresh_instance(tmp_path):
    """`flask run` loads the app inside the `run` command: that start migrates."""
    import click

    from crm import create_app
    from crm.db import db

    def tables(path):
        return {
            r[0]
            for r in sqlite3.connect(path).execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        }

    ordinary, served = tmp_path / "ordinary", tmp_path / "served"
    with click.Context(click.Group("flask"), info_name="flask"):
        app = create_app({"INSTANCE_PATH": str(ordinary)})
    with app.app_context():
        db.engine.dispose()
    assert "alembic_version" not in tables(ordinary / "crm.sqlite3")
    with click.Context(click.Command("run"), info_name="run"):
        app = create_app({"INSTANCE_PATH": str(served)})
    with app.app_context():
        db.engine.dispose()
    assert {"alembic_version", "partner"} <= tables(served / "crm.sqlite3")
    assert (served / "setup-code").exists()

    result, _seconds = flask_cli(ordinary, "demo")
    assert result.returncode == 0, result.stderr
    assert "loaded the seed story" in result.stdout
    assert {"alembic_version", "partner"} <= tables(ordinary / "crm.sqlite3")
    # Up to date now: a second start has nothing to migrate and says nothing about it.
    result = start(ordinary)
    assert result.returncode == 0
    assert "alembic" not in result.stderr.lower()
