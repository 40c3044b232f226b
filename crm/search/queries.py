"""Per kind: the live records whose search_text contains the query, best first.

The query is normalised like the stored text (`crm.text.normalize`: width, case,
punctuation), so both sides meet as plain lowercase words.

Ranking, in tiers: a whole name equal to the query, then a name starting with it (both
tier 0, by the name: the exact name is the smallest), then a later word starting with it
(tier 1), then a match anywhere (tier 2, by id); ties by record id. A record is ranked by
its best match.

Cost bounded by the group's size, not by the number of matches or rows: each tier is read
from an index in its own order with a LIMIT (`crm.search.index`):

- tiers 0 and 1: a range scan of `search_key` (`key >= q AND key < q || U+10FFFF`);
- tier 2, 3+ characters: the trigram index (SQLite: FTS5 in rowid order; PostgreSQL:
  pg_trgm GIN or the primary key, as the planner sees fit), ORDER BY id LIMIT;
- tier 2, one or two CJK characters: the CJK keys of `search_key` (every character and
  every adjacent pair), an exact lookup in id order;
- tier 2, one or two other characters (Latin letters, digits): a scan of the table in id
  order with LIMIT, which stops at the first matches found: quick when the letters are
  common, a full scan when they are rare or absent (documented in the README).

One statement gathers (id, tier, key) from the tiers, Python keeps each record's best,
and a second statement loads the records shown. If a tier was cut by its LIMIT before
giving enough distinct records (one record can hold several matching names), that tier
is read again with a larger LIMIT, so the result is always exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    column,
    literal_column,
    select,
    table,
    text,
    union_all,
)

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project
from crm.search.index import (
    KEY_TABLE,
    TIER_GRAM,
    TIER_NAME,
    TIER_WORD,
    WORD_KEY,
    fts_table,
    is_gram_query,
    table_number,
)
from crm.text import normalize

GROUP_LIMIT = 20
MAX_QUERY = 100  # characters of the normalised query that are searched
TRIGRAM_MIN = 3  # shortest query the trigram index serves


@dataclass(frozen=True)
class Kind:
    key: str
    model: type
    detail_endpoint: str
    detail_arg: str
    list_endpoint: str


KINDS = (
    Kind("partners", Partner, "partners.detail", "partner_id", "partners.index"),
    Kind("contacts", Contact, "contacts.detail", "contact_id", "contacts.index"),
    Kind("agreements", Agreement, "agreements.detail", "agreement_id", "agreements.index"),
    Kind("projects", Project, "projects.detail", "project_id", "projects.index"),
    Kind("activities", Activity, "activities.detail", "activity_id", "activities.index"),
)


@dataclass
class Group:
    kind: Kind
    records: list
    more: bool


def clean_query(raw: str | None) -> str:
    """The normalised query that is searched for ("" when nothing is left)."""
    return normalize((raw or "")[: MAX_QUERY * 4])[:MAX_QUERY].strip()


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_KEYS = table(KEY_TABLE, column("tbl"), column("tier"), column("record_id"), column("key"))
_TOP = "\U0010ffff"  # sorts after every character: key < q || _TOP means "starts with q"
# A match's rank: its key tier for name and word keys, then anywhere.
RANK_NAME, RANK_WORD, RANK_ANY = TIER_NAME, TIER_WORD, TIER_WORD + 1


def _key_arm(kind_no: int, tier: int):
    """Records with a tier-0 (name) or tier-1 (word) key starting with :q, in key order."""
    return (
        select(_KEYS.c.record_id.label("id"))
        .where(
            _KEYS.c.tbl == kind_no,
            _KEYS.c.tier == tier,
            _KEYS.c.key >= bindparam("q", type_=String),
            _KEYS.c.key < bindparam("q_top", type_=String),
        )
        .order_by(_KEYS.c.key, _KEYS.c.record_id)
        .limit(bindparam(f"n{tier}", type_=Integer))
        .add_columns(literal_column(str(tier), Integer).label("rank"), _KEYS.c.key.label("key"))
    )


def query_path(q: str, dialect: str) -> str:
    """How the anywhere tier is read: "gram" (CJK keys), "fts" (SQLite trigram), "like"
    (PostgreSQL's pg_trgm for 3+ characters; a scan with LIMIT for 1-2 other ones)."""
    if is_gram_query(q):
        return "gram"
    if dialect == "sqlite" and len(q) >= TRIGRAM_MIN:
        return "fts"
    return "like"


def _anywhere_arm(model, kind_no: int, path: str):
    """Live records whose text contains :q anywhere, in id order, at most :n2."""
    empty = literal_column("''", String).label("key")
    rank = literal_column(str(RANK_ANY), Integer).label("rank")
    n = bindparam(f"n{RANK_ANY}", type_=Integer)
    if path == "gram":
        return (
            select(_KEYS.c.record_id.label("id"), rank, empty)
            .where(
                _KEYS.c.tbl == kind_no,
                _KEYS.c.tier == TIER_GRAM,
                _KEYS.c.key == bindparam("q", type_=String),
            )
            .order_by(_KEYS.c.record_id)
            .limit(n)
        )
    if path == "fts":
        fts = fts_table(model.__tablename__)
        matches = table(fts, column("rowid"))
        return (
            select(model.id.label("id"), rank, empty)
            .select_from(matches.join(model.__table__, model.id == matches.c.rowid))
            .where(text(f"{fts} MATCH :phrase").bindparams(bindparam("phrase", type_=String)))
            .where(model.archived_at.is_(None))
            .order_by(matches.c.rowid)
            .limit(n)
        )
    return (
        select(model.id.label("id"), rank, empty)
        .where(
            model.archived_at.is_(None),
            model.search_text.like(bindparam("pattern", type_=String), escape="\\"),
        )
        .order_by(model.id)
        .limit(n)
    )


def tier_ranks(q: str) -> tuple[int, ...]:
    """The tiers read for q (word keys hold WORD_KEY characters: longer queries skip them)."""
    return (RANK_NAME, RANK_WORD, RANK_ANY) if len(q) <= WORD_KEY else (RANK_NAME, RANK_ANY)


@cache
def _hits_statement(kind_key: str, ranks: tuple[int, ...], path: str):
    kind = next(k for k in KINDS if k.key == kind_key)
    model = kind.model
    kind_no = table_number(model.__tablename__)
    arms = [
        _anywhere_arm(model, kind_no, path) if rank == RANK_ANY else _key_arm(kind_no, rank)
        for rank in ranks
    ]
    # Each arm keeps its own ORDER BY and LIMIT inside a subquery (SQLite needs that).
    return union_all(*[select(*arm.subquery().c) for arm in arms])


def hits_statement(kind: Kind, q: str, sizes: dict[int, int], dialect: str):
    """(statement, parameters) giving (id, rank, key) rows: each tier's first sizes[rank]
    matches, read from its index. The statement is built once per kind and path."""
    path = query_path(q, dialect)
    params: dict[str, object] = {f"n{rank}": size for rank, size in sizes.items()}
    params.update(q=q, q_top=q + _TOP)
    if path == "fts":
        # A quoted phrase: the trigram tokenizer turns it into a substring match.
        params["phrase"] = '"' + q.replace('"', '""') + '"'
    elif path == "like":
        params["pattern"] = f"%{_escape_like(q)}%"
    return _hits_statement(kind.key, tuple(sizes), path), params


def _ranked_ids(kind: Kind, q: str, want: int, dialect: str) -> list[int]:
    """The ids of the first `want` records of a kind for q, best first."""
    ranks = tier_ranks(q)
    # Key tiers hold several keys per record (names in two scripts, pinyin): read more.
    sizes = {rank: want * (1 if rank == RANK_ANY else 3) for rank in ranks}
    while True:
        statement, params = hits_statement(kind, q, sizes, dialect)
        rows = db.session.execute(statement, params).all()
        best: dict[int, tuple] = {}
        for record_id, rank, key in rows:
            sort_key = (rank, key, record_id)
            if record_id not in best or sort_key < best[record_id]:
                best[record_id] = sort_key
        # A tier cut by its LIMIT may hide better matches of records not yet seen, unless
        # it already gave `want` distinct records (then none of those can make the cut).
        short = [
            rank
            for rank in ranks
            if sum(r[1] == rank for r in rows) >= sizes[rank]
            and len({r[0] for r in rows if r[1] == rank}) < want
        ]
        if not short:
            return [record_id for *_, record_id in sorted(best.values())[:want]]
        for rank in short:
            sizes[rank] *= 4


def ranked_ids(model, q: str, want: int) -> list[int]:
    """The ids of the first `want` live records of a searchable model for an already
    cleaned query, best first (what pickers use: same ranking, same bounded cost)."""
    kind = next(k for k in KINDS if k.model is model)
    return _ranked_ids(kind, q, want, db.session.get_bind().dialect.name)


def search_kind(kind: Kind, q: str, limit: int = GROUP_LIMIT) -> Group:
    """Up to `limit` live records of one kind matching q, best first.

    Two statements (the ranked ids, then the records), whatever the number of matches."""
    model = kind.model
    dialect = db.session.get_bind().dialect.name
    ranked = _ranked_ids(kind, q, limit + 1, dialect)
    shown = ranked[:limit]
    records = {}
    if shown:
        records = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(shown)))}
    return Group(kind, [records[i] for i in shown if i in records], len(ranked) > limit)


def search(q: str, limit: int = GROUP_LIMIT) -> list[Group]:
    """Every kind's group for an already cleaned query; nothing (no statement) for ""."""
    if not q:
        return []
    return [search_kind(kind, q, limit) for kind in KINDS]
