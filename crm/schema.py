"""Whether the database schema matches the migrations this code ships."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from crm.db import db, optimize_sqlite, reading_only

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
UPGRADE_HINT = "flask --app crm db upgrade"


def head_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def current_revisions() -> set[str]:
    """The revisions the database is at, read without taking SQLite's write lock."""
    with reading_only(), db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def schema_is_current() -> bool:
    return current_revisions() == head_revisions()


class SchemaBehind(RuntimeError):
    """The database is older than the code: it must be upgraded before serving."""


def require_current_schema() -> None:
    current, heads = current_revisions(), head_revisions()
    if current != heads:
        raise SchemaBehind(
            f"The database schema is at {sorted(current) or 'nothing'} but this version of the "
            f"CRM needs {sorted(heads)}. Run `{UPGRADE_HINT}` and start again."
        )


def upgrade_if_needed() -> bool:
    """Migrate to the head when (and only when) the database is behind; True if it was.

    The check reads without a write lock, so a start while another process holds SQLite's
    write lock (a long bulk load) does not wait unless there really is something to do.
    """
    if current_revisions() == head_revisions():
        return False
    from flask_migrate import upgrade

    upgrade(directory=str(MIGRATIONS))
    optimize_statistics()
    return True


def optimize_statistics() -> None:
    """Refresh SQLite's planner statistics for every table (after migrations, bulk loads)."""

    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL's autovacuum analyses tables as they change
    with db.engine.connect() as connection:
        optimize_sqlite(connection.connection.dbapi_connection, all_tables=True)
