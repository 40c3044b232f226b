"""`flask documents check`: the store against the database.

Reports versions whose file is missing or no longer matches its SHA-256, files that no
version refers to (left by a process that died between storing a file and committing), and
partial uploads left in `.incoming/`. `--remove-orphans` deletes the last two, which no row
can refer to. Exits 1 when a recorded file is missing or damaged.
"""

from __future__ import annotations

import hashlib
import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from crm.db import db, reading_only
from crm.documents import storage
from crm.documents.models import DocumentVersion

# A partial upload younger than this may belong to a request still running.
INCOMING_GRACE_SECONDS = 3600


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(storage.CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


documents_cli = AppGroup("documents", help="Check the stored document files.")


@documents_cli.command("check")
@click.option("--remove-orphans", is_flag=True, help="Delete unreferenced and partial files.")
def check(remove_orphans: bool) -> None:
    """Compare stored document files with the database."""
    root = storage.documents_root()
    recorded = {}
    problems = 0
    with reading_only():  # never waits behind another process's write lock
        rows = db.session.execute(
            select(DocumentVersion.id, DocumentVersion.stored_name, DocumentVersion.sha256)
        ).all()
    db.session.rollback()
    for version_id, stored_name, sha256 in rows:
        recorded[stored_name] = version_id
        path = storage.path_for(stored_name)
        if not path.is_file():
            click.echo(f"missing: version {version_id} ({stored_name})")
            problems += 1
        elif _sha256(path) != sha256:
            click.echo(f"damaged: version {version_id} ({stored_name}) SHA-256 differs")
            problems += 1
    orphans = []
    now = time.time()
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(root).as_posix()
        if name.startswith(storage.INCOMING + "/"):
            if now - path.stat().st_mtime > INCOMING_GRACE_SECONDS:
                orphans.append(path)
        elif name not in recorded:
            orphans.append(path)
    for path in orphans:
        if remove_orphans:
            path.unlink(missing_ok=True)
            click.echo(f"removed: {path.relative_to(root).as_posix()}")
        else:
            click.echo(f"unreferenced: {path.relative_to(root).as_posix()}")
    click.echo(
        f"{len(recorded)} versions checked, {problems} missing or damaged, "
        f"{len(orphans)} unreferenced files{' removed' if remove_orphans else ''}"
    )
    if problems:
        raise SystemExit(1)
