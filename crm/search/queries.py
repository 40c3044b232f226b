"""One statement per kind: the live records whose search_text contains the query.

The query is normalised like the stored text (`crm.text.normalize`: width, case,
punctuation), so both sides meet as plain lowercase words. Ranking: a whole name first,
then a name starting with the query, then a word starting with it, then a match inside
a word; shorter texts (fewer, shorter names) before longer ones; then by id.

Paths: on SQLite a query of 3+ characters is answered by the FTS5 trigram table (a
substring MATCH); shorter ones by LIKE on the base table, which the trigram index
cannot serve. On PostgreSQL `LIKE '%q%'` is served by the pg_trgm GIN index when it can
be, and scans otherwise. Both paths select exactly the rows whose text contains the query.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, column, func, select, table, text

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project
from crm.search.index import fts_table
from crm.text import normalize

GROUP_LIMIT = 20
MAX_QUERY = 100  # characters of the normalised query that are searched
TRIGRAM_MIN = 3


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


def _rank(column, q: str):
    esc = _escape_like(q)
    return case(
        (column.like(f"%|{esc}|%", escape="\\"), 0),
        (column.like(f"%|{esc}%", escape="\\"), 1),
        (column.like(f"% {esc}%", escape="\\"), 2),
        else_=3,
    )


def _contains(model, q: str, dialect: str):
    """The WHERE clause: the record's search_text contains q."""
    if dialect == "sqlite" and len(q) >= TRIGRAM_MIN:
        fts = fts_table(model.__tablename__)
        # A quoted phrase: the trigram tokenizer turns it into a substring match.
        phrase = '"' + q.replace('"', '""') + '"'
        matches = (
            select(column("rowid"))
            .select_from(table(fts))
            .where(text(f"{fts} MATCH :phrase").bindparams(phrase=phrase))
        )
        return model.id.in_(matches)
    return model.search_text.like(f"%{_escape_like(q)}%", escape="\\")


def search_kind(kind: Kind, q: str, limit: int = GROUP_LIMIT) -> Group:
    """Up to `limit` live records of one kind matching q, best first (one statement)."""
    model = kind.model
    dialect = db.session.get_bind().dialect.name
    rows = db.session.scalars(
        select(model)
        .where(model.archived_at.is_(None), _contains(model, q, dialect))
        .order_by(_rank(model.search_text, q), func.length(model.search_text), model.id)
        .limit(limit + 1)
    ).all()
    return Group(kind, list(rows[:limit]), len(rows) > limit)


def search(q: str, limit: int = GROUP_LIMIT) -> list[Group]:
    """Every kind's group for an already cleaned query; nothing (no statement) for ""."""
    if not q:
        return []
    return [search_kind(kind, q, limit) for kind in KINDS]
