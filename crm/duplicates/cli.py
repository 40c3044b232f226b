"""`flask --app crm duplicates scan`: check every record for duplicates from scratch."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from crm.db import db
from crm.duplicates import index

duplicates_cli = AppGroup("duplicates", help="Find likely duplicate partners and contacts.")


@duplicates_cli.command("scan")
@click.option(
    "--kind", type=click.Choice(["partner", "contact", "all"]), default="all", show_default=True
)
def scan(kind):
    """Check every record again (after an import or bulk data); dismissals are kept."""

    for each in ("partner", "contact") if kind == "all" else (kind,):
        started = time.perf_counter()
        found = index.scan(db.session.connection(), each)
        db.session.commit()
        click.echo(
            f"{each}: {found['records']:,} records, {found['compared']:,} pairs compared, "
            f"{found['pairs']:,} likely duplicates ({time.perf_counter() - started:.1f}s)"
        )
