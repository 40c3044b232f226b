"""`flask --app crm backup` and `flask --app crm restore PATH`.

A backup is one timestamped folder holding a consistent copy of the database (SQLite's
online backup API, or `pg_dump --format=custom`), the document files, and
`manifest.json` (time, database kind, Alembic revision, counts, the SHA-256 of every
file). The database is copied first and the documents after: a stored file is in place
before the row naming it commits and is never changed afterwards, so every version the
copied database names has its file in the copy, while writers carry on meanwhile.

A restore checks every file against the manifest, then puts the database and the
documents in place of an empty instance (a database with records, or a documents folder
with files, is replaced only with `--force`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from crm.db import db, reading_only
from crm.documents import storage
from crm.schema import UPGRADE_HINT, head_revisions

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
DOCUMENTS = "documents"
FORMAT = 1


class BackupError(click.ClickException):
    """A backup or restore that cannot go on, with the reason for the operator."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _libpq(url) -> tuple[str, dict]:
    """A libpq connection string for pg_dump/pg_restore, the password in the environment."""
    url = make_url(url) if isinstance(url, str) else url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client tools of the "
            "server's major version (Debian: apt-get install postgresql-client)"
        )
    return path


def _check_pg_versions(tool: str) -> None:
    """pg_dump refuses a newer server; say so plainly before it does."""
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    with db.engine.connect() as conn:
        server = int(conn.exec_driver_sql("SHOW server_version_num").scalar()) // 10000
    if match and int(match.group(1)) < server:
        raise BackupError(
            f"{out.stdout.strip()} is older than the server (PostgreSQL {server}): "
            f"install the client tools of version {server} or newer"
        )


def _record_counts(conn) -> dict[str, int]:
    """Rows per table of the models, as `conn`'s snapshot sees them."""
    existing = set(inspect(conn).get_table_names())
    return {
        name: conn.execute(select(func.count()).select_from(table)).scalar()
        for name, table in db.metadata.tables.items()
        if name in existing
    }


def make_backup(output: Path) -> Path:
    """Write a backup folder under `output` and return its path."""

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = output / f"crm-backup-{stamp}"
    partial = output / f".crm-backup-{stamp}.partial"
    partial.mkdir(parents=True, mode=0o700)
    try:
        if _is_sqlite():
            kind, database_file = "sqlite", SQLITE_FILE
            _backup_sqlite(partial / SQLITE_FILE)
            counts = _sqlite_counts(partial / SQLITE_FILE)
            revision = _sqlite_revision(partial / SQLITE_FILE)
        else:
            kind, database_file = "postgresql", PG_FILE
            revision, counts = _backup_postgresql(partial / PG_FILE)
        root = storage.documents_root()
        copied = 0
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or relative.startswith(storage.INCOMING + "/"):
                continue
            destination = partial / DOCUMENTS / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied += 1
        files = {
            path.relative_to(partial).as_posix(): {
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
            }
            for path in sorted(partial.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": kind,
            "database_file": database_file,
            "alembic_revision": revision,
            "records": counts,
            "document_files": copied,
            "files": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def _backup_sqlite(destination: Path) -> None:
    """SQLite's online backup: one consistent snapshot while other connections write."""
    source = sqlite3.connect(_sqlite_path(), timeout=30)
    copy = sqlite3.connect(destination)
    try:
        # In one step, the copy is a single read transaction: a snapshot under WAL.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        result = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"the copied database failed its integrity check: {result}")
    finally:
        copy.close()
        source.close()


def _sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in db.metadata.tables
            if name in existing
        }
    finally:
        conn.close()


def _sqlite_revision(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _backup_postgresql(destination: Path) -> tuple[list[str], dict[str, int]]:
    """pg_dump of one exported snapshot, read for the revision and counts as well."""
    from alembic.runtime.migration import MigrationContext

    tool = _pg_tool("pg_dump")
    _check_pg_versions(tool)
    dsn, env = _libpq(db.engine.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            revision = sorted(MigrationContext.configure(conn).get_current_heads())
            counts = _record_counts(conn)
            result = subprocess.run(  # noqa: S603 - our own arguments, no shell
                [
                    tool,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={destination}",
                    f"--dbname={dsn}",
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return revision, counts


def read_manifest(source: Path) -> dict:
    """The manifest of the backup at `source`, after checking every file it lists."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a CRM backup (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for name, expected in manifest["files"].items():
        file = (source / name).resolve()
        if source.resolve() not in file.parents:
            raise BackupError(f"the manifest names a file outside the backup: {name}")
        if not file.is_file():
            raise BackupError(f"the backup is incomplete: {name} is missing")
        if _sha256(file) != expected["sha256"]:
            raise BackupError(f"the backup is damaged: {name} does not match its SHA-256")
    return manifest


def database_has_records() -> bool:
    """True when any table of the models holds a row."""
    existing = set(inspect(db.engine).get_table_names())
    with reading_only(), db.engine.connect() as conn:
        for name, table in db.metadata.tables.items():
            if name in existing and conn.execute(select(table).limit(1)).first():
                return True
    return False


def restore_backup(source: Path, force: bool = False) -> dict:
    """Put the backup at `source` in place of this instance's database and documents."""

    manifest = read_manifest(source)
    kind = "sqlite" if _is_sqlite() else "postgresql"
    if manifest["database"] != kind:
        raise BackupError(
            f"this is a {manifest['database']} backup; the instance uses {kind}. "
            "Restore it into an instance configured for the same kind of database."
        )
    root = storage.documents_root()
    has_documents = any(p.is_file() for p in root.rglob("*"))
    if not force and (database_has_records() or has_documents):
        raise BackupError(
            "the instance already holds records or document files: restore into a fresh "
            "instance, or give --force to replace them"
        )
    db.session.remove()
    if kind == "sqlite":
        _restore_sqlite(source / manifest["database_file"])
    else:
        _restore_postgresql(source / manifest["database_file"])
    if has_documents:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        root.rename(root.with_name(f"{root.name}.before-restore-{stamp}"))
        root = storage.documents_root()
    prefix = DOCUMENTS + "/"
    for name in manifest["files"]:
        if name.startswith(prefix):
            destination = root / name[len(prefix) :]
            destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copy2(source / name, destination)
    return manifest


def _restore_sqlite(copy: Path) -> None:
    target = _sqlite_path()
    db.engine.dispose()
    staged = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(copy, staged)
    # A WAL left by the old database would be replayed onto the restored one.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(staged, target)


def _restore_postgresql(dump: Path) -> None:
    tool = _pg_tool("pg_restore")
    dsn, env = _libpq(db.engine.url)
    db.engine.dispose()
    result = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={dsn}",
            str(dump),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {result.stderr.strip()}")


@click.command("backup")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write the backup into (default: instance/backups).",
)
def backup_command(output: Path | None) -> None:
    """Copy the database and the documents into one timestamped folder, while running."""
    output = output or Path(current_app.instance_path) / "backups"
    target = make_backup(output.resolve())
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    click.echo(
        f"backed up the {manifest['database']} database (revision "
        f"{', '.join(manifest['alembic_revision']) or 'none'}) and "
        f"{manifest['document_files']} document files to {target}"
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an instance that has records or documents.")
def restore_command(path: Path, force: bool) -> None:
    """Restore a backup folder into this instance (stop the app first)."""

    manifest = restore_backup(path, force=force)
    click.echo(
        f"restored the {manifest['database']} database from {manifest['created_at']} and "
        f"{manifest['document_files']} document files"
    )
    if set(manifest["alembic_revision"]) != head_revisions():
        click.echo(f"the backup's schema is older than this version: run `{UPGRADE_HINT}`")
