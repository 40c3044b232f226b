"""The search index: DDL for both databases, in one place.

Every searchable table keeps a `search_text` column ("|name|other name|pinyin|...|",
see `crm.text.search_blob`). Two structures are derived from it, both kept current by
triggers on the base table, so ORM writes, bulk Core inserts, archive and merges keep
them current without application code:

- the trigram index (any substring of 3+ characters): on SQLite an external-content FTS5
  table with the trigram tokenizer; on PostgreSQL a pg_trgm GIN index on the column;
- `search_key`, one btree table of keys per live record, read with a LIMIT in key order:
  tier 0 every whole name, tier 1 the rest of a name from each later word (cut to
  `WORD_KEY` characters), tier 2 every CJK character and every pair of adjacent CJK
  characters (what queries of one or two characters look up). Archived records have no
  keys, so nothing has to filter them out.

On SQLite the triggers split the text with the help of `search_seq` (the numbers 1 ..
`SEQ_MAX`: SQLite triggers allow no recursive CTE); on PostgreSQL one plpgsql function,
fed the table's number, does it with `generate_series`.

Called from the Alembic migrations and from the tests' schema setup.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine

# Tables with a search_text column, in the order results are shown. Their position is
# their number in search_key.tbl: append, never reorder.
SEARCH_TABLES = ("partner", "contact", "agreement", "project", "activity")

TIER_NAME, TIER_WORD, TIER_GRAM = 0, 1, 2
# Word keys (tier 1) keep this many characters; longer queries skip that tier.
WORD_KEY = 32
# Characters from here up are "CJK" for the one- and two-character keys (CJK radicals,
# kana, hangul, ideographs, and everything above). Python and SQL use the same bound.
GRAM_MIN = 0x2E80
# search_text positions the SQLite triggers can split (longer texts are cut there).
SEQ_MAX = 20_000

KEY_TABLE = "search_key"
SEQ_TABLE = "search_seq"

_TABLES = "|".join(SEARCH_TABLES)
_FTS_NAME = re.compile(rf"^({_TABLES})_fts(_(data|idx|content|docsize|config))?$")


def fts_table(table: str) -> str:
    return f"{table}_fts"


def trgm_index(table: str) -> str:
    return f"ix_{table}_search_trgm"


def table_number(table: str) -> int:
    return SEARCH_TABLES.index(table)


def is_gram_query(q: str) -> bool:
    """Whether q is answered from the tier-2 keys: one or two CJK characters."""
    return 1 <= len(q) <= 2 and all(ord(c) >= GRAM_MIN for c in q)


def search_keys(search_text: str | None) -> set[tuple[int, str]]:
    """(tier, key) of one text, as the triggers compute them (the reference for tests and
    for bulk loaders that write search_key themselves)."""
    keys: set[tuple[int, str]] = set()
    text = search_text or ""
    segments = text.split("|")
    # Names: between two bars. Words: after each space, up to the next bar.
    keys.update((TIER_NAME, name) for name in segments[1:-1] if name)
    for segment in segments[:-1]:
        keys.update(
            (TIER_WORD, segment[i + 1 : i + 1 + WORD_KEY])
            for i, c in enumerate(segment)
            if c == " " and segment[i + 1 :]
        )
    for i, c in enumerate(text):
        if ord(c) >= GRAM_MIN:
            keys.add((TIER_GRAM, c))
            if i + 1 < len(text) and ord(text[i + 1]) >= GRAM_MIN:
                keys.add((TIER_GRAM, text[i : i + 2]))
    return keys


def is_search_object(name: str | None) -> bool:
    """Whether a table or index name belongs to the search index (not to the models)."""
    if not name:
        return False
    return (
        bool(_FTS_NAME.match(name))
        or name in {trgm_index(t) for t in SEARCH_TABLES}
        or name in {KEY_TABLE, SEQ_TABLE}
    )


# --- the trigram index ---------------------------------------------------------------


def _sqlite_trigram_create(table: str) -> list[str]:
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


def trigram_trigger_statements(dialect: str, table: str, create: bool) -> list[str]:
    """SQLite: drop (create=False) one table's FTS triggers, or recreate them and rebuild
    its FTS table, for a bulk loader (an FTS5 rebuild is several times faster than one
    trigger per row). Nothing on PostgreSQL, where the GIN index is no trigger."""
    if dialect != "sqlite":
        return []
    fts = fts_table(table)
    drops = [f"DROP TRIGGER IF EXISTS {fts}_{s}" for s in ("ai", "ad", "au")]
    return (
        drops
        + ([s for s in _sqlite_trigram_create(table) if "TRIGGER" in s] if create else [])
        + (
            [f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"] if create else []  # noqa: S608
        )
    )


def _sqlite_trigram_drop(table: str) -> list[str]:
    fts = fts_table(table)
    return [f"DROP TRIGGER IF EXISTS {fts}_{s}" for s in ("ai", "ad", "au")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]


def trigram_statements(dialect: str) -> list[str]:
    statements: list[str] = []
    if dialect == "sqlite":
        for table in SEARCH_TABLES:
            # A stale FTS table (its base table dropped and recreated) is rebuilt afresh.
            statements += _sqlite_trigram_drop(table) + _sqlite_trigram_create(table)
    elif dialect == "postgresql":
        statements.append("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in SEARCH_TABLES:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {trgm_index(table)} "
                f"ON {table} USING gin (search_text gin_trgm_ops)"
            )
    return statements


def trigram_drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [s for table in SEARCH_TABLES for s in _sqlite_trigram_drop(table)]
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS {trgm_index(t)}" for t in SEARCH_TABLES]
    return []


# --- the key table -------------------------------------------------------------------


def _sqlite_key_parts(s: str, source: str, where: str) -> list[tuple[int, str, str]]:
    """(tier, key expression, FROM ... WHERE ...) for the text expression s, one per kind
    of key. `source` joins search_seq to whatever provides s (nothing in a trigger, the
    base table when filling); n walks the characters of s."""
    rest = f"substr({s}, n + 1)"
    name = f"substr({rest}, 1, instr({rest}, '|') - 1)"
    gram = f"unicode(substr({s}, n, 1)) >= {GRAM_MIN}"
    next_gram = f"unicode(substr({s}, n + 1, 1)) >= {GRAM_MIN}"
    seq = f"FROM {source} {SEQ_TABLE} WHERE {where}"
    return [
        (
            TIER_NAME,
            name,
            f"{seq} AND n < length({s}) AND substr({s}, n, 1) = '|' AND {name} <> ''",
        ),
        (
            TIER_WORD,
            f"substr({name}, 1, {WORD_KEY})",
            f"{seq} AND n < length({s}) AND substr({s}, n, 1) = ' ' AND {name} <> ''",
        ),
        (TIER_GRAM, f"substr({s}, n, 1)", f"{seq} AND n <= length({s}) AND {gram}"),
        (
            TIER_GRAM,
            f"substr({s}, n, 2)",
            f"{seq} AND n < length({s}) AND {gram} AND {next_gram}",
        ),
    ]


def _sqlite_insert_keys(t: int, s: str, record_id: str, source: str, where: str) -> list[str]:
    return [
        f"INSERT OR IGNORE INTO {KEY_TABLE} (tbl, tier, key, record_id) "  # noqa: S608
        f"SELECT {t}, {tier}, {key}, {record_id} {rest}"
        for tier, key, rest in _sqlite_key_parts(s, source, where)
    ]


def _sqlite_delete_keys(t: int, when: str) -> list[str]:
    """Delete old's keys through the primary key (the keys recomputed from old)."""
    return [
        f"DELETE FROM {KEY_TABLE} WHERE {when} AND tbl = {t} AND tier = {tier} "  # noqa: S608
        f"AND key IN (SELECT {key} {rest}) AND record_id = old.id"
        for tier, key, rest in _sqlite_key_parts("old.search_text", "", "1")
    ]


def _statements(statements: list[str]) -> str:
    return " ".join(s + ";" for s in statements)


def _sqlite_key_create(table: str, fill: bool = True) -> list[str]:
    t = table_number(table)
    new = _statements(
        _sqlite_insert_keys(t, "new.search_text", "new.id", "", "new.archived_at IS NULL")
    )
    changed = (
        "old.id IS NOT new.id OR old.search_text IS NOT new.search_text "
        "OR (old.archived_at IS NULL) <> (new.archived_at IS NULL)"
    )
    rows = _sqlite_insert_keys(
        t, "r.search_text", "r.id", f"{table} AS r,", "r.archived_at IS NULL"
    )
    return [
        f"CREATE TRIGGER {table}_key_ai AFTER INSERT ON {table} "  # noqa: S608
        f"WHEN new.archived_at IS NULL BEGIN {new} END",
        f"CREATE TRIGGER {table}_key_ad AFTER DELETE ON {table} "  # noqa: S608
        f"WHEN old.archived_at IS NULL BEGIN {_statements(_sqlite_delete_keys(t, '1'))} END",
        f"CREATE TRIGGER {table}_key_au AFTER UPDATE OF id, search_text, archived_at "  # noqa: S608
        f"ON {table} WHEN {changed} BEGIN "
        f"{_statements(_sqlite_delete_keys(t, 'old.archived_at IS NULL'))} {new} END",
        *(rows if fill else []),
    ]


def _sqlite_key_drop(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_key_{s}" for s in ("ai", "ad", "au")]


_PG_KEYS = f"""
CREATE OR REPLACE FUNCTION search_keys(s text) RETURNS TABLE (tier smallint, key text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT DISTINCT k.tier, k.key FROM (
    SELECT {TIER_NAME}::smallint AS tier, split_part(substr(s, n + 1), '|', 1) AS key
      FROM generate_series(1, length(s) - 1) AS n WHERE substr(s, n, 1) = '|'
    UNION ALL
    SELECT {TIER_WORD}::smallint, left(split_part(substr(s, n + 1), '|', 1), {WORD_KEY})
      FROM generate_series(1, length(s) - 1) AS n WHERE substr(s, n, 1) = ' '
    UNION ALL
    SELECT {TIER_GRAM}::smallint, substr(s, n, 1)
      FROM generate_series(1, length(s)) AS n WHERE ascii(substr(s, n, 1)) >= {GRAM_MIN}
    UNION ALL
    SELECT {TIER_GRAM}::smallint, substr(s, n, 2)
      FROM generate_series(1, length(s) - 1) AS n
      WHERE ascii(substr(s, n, 1)) >= {GRAM_MIN} AND ascii(substr(s, n + 1, 1)) >= {GRAM_MIN}
  ) AS k WHERE k.key <> ''
$$
"""  # noqa: S608

_PG_SYNC = f"""
CREATE OR REPLACE FUNCTION search_key_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t smallint := TG_ARGV[0]::smallint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM {KEY_TABLE} WHERE tbl = t;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id
     AND NEW.search_text IS NOT DISTINCT FROM OLD.search_text
     AND (NEW.archived_at IS NULL) = (OLD.archived_at IS NULL) THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.archived_at IS NULL THEN
    DELETE FROM {KEY_TABLE} AS k USING search_keys(OLD.search_text) AS o
     WHERE k.tbl = t AND k.tier = o.tier AND k.key = o.key COLLATE "C"
       AND k.record_id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.archived_at IS NULL THEN
    INSERT INTO {KEY_TABLE} (tbl, tier, key, record_id)
    SELECT t, o.tier, o.key, NEW.id FROM search_keys(NEW.search_text) AS o
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$
"""  # noqa: S608


def _pg_key_create(table: str, fill: bool = True) -> list[str]:
    t = table_number(table)
    return [
        f"CREATE TRIGGER {table}_key_sync AFTER INSERT OR DELETE "
        f"OR UPDATE OF id, search_text, archived_at ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION search_key_sync('{t}')",
        f"CREATE TRIGGER {table}_key_truncate AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION search_key_sync('{t}')",
    ] + (
        [
            f"INSERT INTO {KEY_TABLE} (tbl, tier, key, record_id) "  # noqa: S608
            f"SELECT {t}, o.tier, o.key, r.id FROM {table} AS r "
            f"CROSS JOIN LATERAL search_keys(r.search_text) AS o "
            f"WHERE r.archived_at IS NULL ON CONFLICT DO NOTHING"
        ]
        if fill
        else []
    )


def key_trigger_statements(dialect: str, table: str, create: bool) -> list[str]:
    """Drop (create=False) or recreate one table's key triggers, leaving search_key as it
    is: for a bulk loader that writes the keys itself (`search_keys`) and resumes them."""
    if dialect == "sqlite":
        drops = _sqlite_key_drop(table)
        return drops + (_sqlite_key_create(table, fill=False) if create else [])
    if dialect == "postgresql":
        drops = [
            f"DROP TRIGGER IF EXISTS {table}_key_sync ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_key_truncate ON {table}",
        ]
        return drops + (_pg_key_create(table, fill=False) if create else [])
    return []


def key_statements(dialect: str) -> list[str]:
    """(Re)create search_key, its triggers, and fill it from the rows already there."""
    statements = key_drop_statements(dialect)
    if dialect == "sqlite":
        statements += [
            f"CREATE TABLE {KEY_TABLE} (tbl INTEGER NOT NULL, tier INTEGER NOT NULL, "
            "key TEXT NOT NULL, record_id INTEGER NOT NULL, "
            "PRIMARY KEY (tbl, tier, key, record_id)) WITHOUT ROWID",
            f"CREATE TABLE {SEQ_TABLE} (n INTEGER PRIMARY KEY)",
            f"INSERT INTO {SEQ_TABLE} (n) WITH RECURSIVE s(n) AS "  # noqa: S608
            f"(SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {SEQ_MAX}) SELECT n FROM s",
        ]
        for table in SEARCH_TABLES:
            statements += _sqlite_key_create(table)
    elif dialect == "postgresql":
        statements += [
            f"CREATE TABLE {KEY_TABLE} (tbl smallint NOT NULL, tier smallint NOT NULL, "
            'key text COLLATE "C" NOT NULL, record_id integer NOT NULL, '
            "PRIMARY KEY (tbl, tier, key, record_id))",
            _PG_KEYS,
            _PG_SYNC,
        ]
        for table in SEARCH_TABLES:
            statements += _pg_key_create(table)
    return statements


def key_drop_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [s for table in SEARCH_TABLES for s in _sqlite_key_drop(table)] + [
            f"DROP TABLE IF EXISTS {KEY_TABLE}",
            f"DROP TABLE IF EXISTS {SEQ_TABLE}",
        ]
    if dialect == "postgresql":
        drops = []
        for table in SEARCH_TABLES:
            drops += [
                f"DROP TRIGGER IF EXISTS {table}_key_sync ON {table}",
                f"DROP TRIGGER IF EXISTS {table}_key_truncate ON {table}",
            ]
        return drops + [
            f"DROP TABLE IF EXISTS {KEY_TABLE}",
            "DROP FUNCTION IF EXISTS search_key_sync()",
            "DROP FUNCTION IF EXISTS search_keys(text)",
        ]
    return []


# --- entry points --------------------------------------------------------------------


def _run(bind, statements: list[str]) -> None:
    """Run statements on a Connection, or in one transaction of an Engine."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            _run(connection, statements)
        return
    for statement in statements:
        bind.exec_driver_sql(statement)


def create_trigram_index(connection) -> None:
    """The trigram index alone (what the search-index migration made)."""
    _run(connection, trigram_statements(connection.dialect.name))


def drop_trigram_index(connection) -> None:
    _run(connection, trigram_drop_statements(connection.dialect.name))


def create_key_index(connection) -> None:
    """search_key, its triggers, filled from the live rows (rebuilt if it exists)."""
    _run(connection, key_statements(connection.dialect.name))


def drop_key_index(connection) -> None:
    _run(connection, key_drop_statements(connection.dialect.name))


def create_search_index(connection) -> None:
    """Create the whole search index for every searchable table (idempotent).

    `connection` is a Connection (Alembic's) or an Engine."""
    dialect = connection.dialect.name
    _run(connection, trigram_statements(dialect) + key_statements(dialect))


def drop_search_index(connection) -> None:
    """Drop what `create_search_index` made (the pg_trgm extension stays)."""
    dialect = connection.dialect.name
    _run(connection, key_drop_statements(dialect) + trigram_drop_statements(dialect))


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
