"""`flask backup` / `flask restore`: a consistent copy taken while others write, restored
into a fresh instance (a fresh PostgreSQL database) with every record and document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.app import ROOT
from crm.db import db
from tests.conftest import CRMClient, make_overrides
from tests.documents.conftest import upload
from tests.documents.samples import pdf
from tests.factories import make_partner, make_user

MIGRATIONS = str(ROOT / "migrations")


@pytest.fixture
def urls(database_url, tmp_path):
    """A source and a target database of their own (PostgreSQL: <test db>_backup and
    <test db>_restore, dropped afterwards)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield (
            f"sqlite:///{tmp_path / 'source' / 'crm.sqlite3'}",
            f"sqlite:///{tmp_path / 'target' / 'crm.sqlite3'}",
        )
        return
    names = [f"{url.database}_backup", f"{url.database}_restore"]
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield tuple(url.set(database=n).render_as_string(hide_password=False) for n in names)
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def instance(url, path, migrate=True):
    app = create_app(make_overrides(url, path))
    app.test_client_class = CRMClient
    if migrate:
        with app.app_context():
            upgrade(directory=MIGRATIONS)
    return app


def signed_in(app, user_id):
    with app.app_context():
        from crm.auth.models import User

        return app.test_client().login_as(db.session.get(User, user_id))


def cli(app, *args):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        return result


def test_backup_while_writing_then_restore_into_a_fresh_instance(urls, tmp_path):
    source = instance(urls[0], tmp_path / "source")
    with source.app_context():
        user = make_user(role="staff", email="writer@example.org")
        partner = make_partner("台州湾新区管理委员会")
        db.session.commit()
        user_id, partner_id = user.id, partner.id
    client = signed_in(source, user_id)
    for n in range(3):
        assert upload(client, "partner", partner_id, pdf(), f"before-{n}.pdf").status_code == 302

    stop, written, errors = threading.Event(), [], []

    def writer():
        # Another user keeps adding partners and documents while the backup runs.
        own = signed_in(source, user_id)
        n = 0
        try:
            while not stop.is_set() and n < 200:
                response = upload(own, "partner", partner_id, pdf(), f"during-{n}.pdf")
                assert response.status_code == 302, response.status_code
                with source.app_context():
                    make_partner(f"Written during the backup {n}")
                    db.session.commit()
                written.append(n)
                n += 1
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not written and thread.is_alive():
            stop.wait(0.05)
        result = cli(source, "backup", "--output", str(tmp_path / "backups"))
    finally:
        stop.set()
        thread.join(120)
    assert errors == []
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "backups").iterdir()
    assert folder.name.startswith("crm-backup-")
    manifest = json.loads((folder / "manifest.json").read_text())
    kind = "sqlite" if urls[0].startswith("sqlite") else "postgresql"
    assert manifest["database"] == kind
    assert manifest["alembic_revision"]
    assert manifest["records"]["document_version"] >= 3
    assert manifest["document_files"] >= manifest["records"]["document_version"]

    target = instance(urls[1], tmp_path / "target", migrate=False)
    result = cli(target, "restore", str(folder))
    assert result.exit_code == 0, result.output
    check = cli(target, "documents", "check")
    assert check.exit_code == 0, check.output
    assert "0 missing or damaged" in check.output
    with target.app_context():
        from crm.documents.models import DocumentVersion
        from crm.partners.models import Partner

        partners = db.session.scalar(select(func.count(Partner.id)))
        versions = db.session.scalar(select(func.count(DocumentVersion.id)))
        assert partners == manifest["records"]["partner"]
        assert versions == manifest["records"]["document_version"]
        assert db.session.get(Partner, partner_id).name_en == "台州湾新区管理委员会"
        db.session.remove()
    page = signed_in(target, user_id).get(f"/partners/{partner_id}")
    assert "before-0" in page.text

    # The restored instance now has records: a second restore needs --force.
    again = cli(target, "restore", str(folder))
    assert again.exit_code == 1
    assert "--force" in again.output
    forced = cli(target, "restore", "--force", str(folder))
    assert forced.exit_code == 0, forced.output
    for app in (source, target):
        with app.app_context():
            db.engine.dispose()


def test_restore_refuses_a_damaged_backup(urls, tmp_path):
    source = instance(urls[0], tmp_path / "source")
    with source.app_context():
        user = make_user(role="staff")
        partner = make_partner("Ekoo")
        db.session.commit()
        partner_id, user_id = partner.id, user.id
    client = signed_in(source, user_id)
    assert upload(client, "partner", partner_id, pdf(), "a.pdf").status_code == 302
    assert cli(source, "backup", "--output", str(tmp_path / "b")).exit_code == 0
    (folder,) = (tmp_path / "b").iterdir()
    (document,) = (folder / "documents").rglob("*/*")
    document.write_bytes(b"changed")
    target = instance(urls[1], tmp_path / "target", migrate=False)
    result = cli(target, "restore", str(folder))
    assert result.exit_code == 1
    assert "damaged" in result.output
    with target.app_context():
        from sqlalchemy import inspect

        assert "partner" not in inspect(db.engine).get_table_names()  # nothing restored
        db.engine.dispose()
    with source.app_context():
        db.engine.dispose()


def test_missing_pg_dump_is_named(monkeypatch):
    from crm.backup import BackupError, _pg_tool

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackupError, match="pg_dump was not found on PATH"):
        _pg_tool("pg_dump")


def test_backup_and_restore_commands_from_the_shell(tmp_path):
    """The real commands on SQLite instances: no schema check in the way, a fresh
    instance restored, and `documents check` passing there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}

    def flask(instance_dir, *args):
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "crm", *args],
            env={**env, "CRM_INSTANCE_PATH": str(instance_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert flask(tmp_path / "a", "demo").returncode == 0
    made = flask(tmp_path / "a", "backup", "--output", str(tmp_path / "out"))
    assert made.returncode == 0, made.stderr
    (folder,) = (tmp_path / "out").iterdir()
    restored = flask(tmp_path / "b", "restore", str(folder))
    assert restored.returncode == 0, restored.stderr
    assert "Traceback" not in restored.stderr
    check = flask(tmp_path / "b", "documents", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    listed = flask(tmp_path / "b", "user", "list")
    assert listed.returncode == 0, listed.stderr
