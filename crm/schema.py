"""Whether the database schema matches the migrations this code ships."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from crm.db import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
UPGRADE_HINT = "flask --app crm db upgrade"


def head_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def current_revisions() -> set[str]:
    with db.engine.connect() as connection:
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
