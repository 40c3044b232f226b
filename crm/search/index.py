"""The search index: DDL for both databases, in one place.

Every searchable table keeps a `search_text` column ("|name|other name|pinyin|...|",
see `crm.text.search_blob`). On SQLite an external-content FTS5 table with the trigram
tokenizer mirrors that column, kept current by triggers on the base table, so ORM writes,
bulk Core inserts, archive and merges all keep it current without application code. On
PostgreSQL a pg_trgm GIN index on the column serves `LIKE '%q%'` directly.

Called from the Alembic migration and from the tests' schema setup.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine

# Tables with a search_text column, in the order results are shown.
SEARCH_TABLES = ("partner", "contact", "agreement", "project", "activity")

_TABLES = "|".join(SEARCH_TABLES)
_FTS_NAME = re.compile(rf"^({_TABLES})_fts(_(data|idx|content|docsize|config))?$")


def fts_table(table: str) -> str:
    return f"{table}_fts"


def trgm_index(table: str) -> str:
    return f"ix_{table}_search_trgm"


def is_search_object(name: str | None) -> bool:
    """Whether a table or index name belongs to the search index (not to the models)."""
    if not name:
        return False
    return bool(_FTS_NAME.match(name)) or name in {trgm_index(t) for t in SEARCH_TABLES}


def _sqlite_create(table: str) -> list[str]:
    # Table names come from SEARCH_TABLES, never from input.
    fts = fts_table(table)
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"search_text, content='{table}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608
        f"INSERT INTO {fts}({fts}, rowid, search_text) "
        f"VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF id, search_text ON {table} "  # noqa: S608
        f"BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) "
        f"VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        # Index whatever rows the table already holds (an upgrade of a filled database).
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # noqa: S608
    ]


def _sqlite_drop(table: str) -> list[str]:
    fts = fts_table(table)
    return [f"DROP TRIGGER IF EXISTS {fts}_{s}" for s in ("ai", "ad", "au")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]


def _run(bind, statements: list[str]) -> None:
    """Run statements on a Connection, or in one transaction of an Engine."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            _run(connection, statements)
        return
    for statement in statements:
        bind.exec_driver_sql(statement)


def create_search_index(connection) -> None:
    """Create the search index for every searchable table (idempotent).

    `connection` is a Connection (Alembic's) or an Engine."""
    dialect = connection.dialect.name
    statements: list[str] = []
    if dialect == "sqlite":
        for table in SEARCH_TABLES:
            # A stale FTS table (its base table dropped and recreated) is rebuilt afresh.
            statements += _sqlite_drop(table) + _sqlite_create(table)
    elif dialect == "postgresql":
        statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in SEARCH_TABLES:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {trgm_index(table)} "
                f"ON {table} USING gin (search_text gin_trgm_ops)"
            )
    _run(connection, statements)


def drop_search_index(connection) -> None:
    """Drop what `create_search_index` made (the pg_trgm extension stays)."""
    dialect = connection.dialect.name
    statements: list[str] = []
    if dialect == "sqlite":
        for table in SEARCH_TABLES:
            statements += _sqlite_drop(table)
    elif dialect == "postgresql":
        statements += [f"DROP INDEX IF EXISTS {trgm_index(t)}" for t in SEARCH_TABLES]
    _run(connection, statements)


def _without_search_objects(autogen_context, upgrade_ops, schemas):
    """Autogenerate comparator run last: forget differences that are the search index.

    The FTS5 tables (and their shadow tables) and the GIN indexes are made by
    `create_search_index`, not by the models, so comparing the models with a database
    must not report them, whichever migration context does the comparing.
    """
    from alembic.operations import ops
    from alembic.util import PriorityDispatchResult

    kept = []
    for op in upgrade_ops.ops:
        if isinstance(op, ops.DropTableOp) and is_search_object(op.table_name):
            continue
        if isinstance(op, ops.ModifyTableOps):
            op.ops = [
                sub
                for sub in op.ops
                if not (isinstance(sub, ops.DropIndexOp) and is_search_object(sub.index_name))
            ]
            if not op.ops:
                continue
        kept.append(op)
    upgrade_ops.ops[:] = kept
    return PriorityDispatchResult.CONTINUE


_installed = False


def install_autogenerate_filter() -> None:
    """Register the comparator once (Alembic keeps a process-wide registry)."""
    global _installed
    if _installed:
        return
    from alembic.autogenerate.compare import comparators
    from alembic.util import DispatchPriority

    comparators.dispatch_for("schema", priority=DispatchPriority.LAST)(_without_search_objects)
    _installed = True


def include_name(name, type_, parent_names) -> bool:
    """An Alembic `include_name` hook: leave the search index out of comparisons."""
    return not (type_ in {"table", "index"} and is_search_object(name))


install_autogenerate_filter()
