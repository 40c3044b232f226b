"""Every row that points at a partner or a contact, read straight from the metadata, so a
merge can be checked link by link: nothing lost, nothing doubled."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import and_, select

from crm.db import db

# Columns that say when or by whom, not what is linked.
BOOKKEEPING = {
    "id",
    "created_at",
    "updated_at",
    "created_by_id",
    "updated_by_id",
    "version_id",
    "archived_at",
    "archived_by_id",
    "search_text",
    "sort_name",
    "sort_title",
}
# Links a merge combines on part of their columns (the rest is merged, e.g. a signatory).
IDENTITY = {
    ("agreement_party", "partner_id"): ("agreement_id", "partner_id", "role"),
    ("activity_attendee", "contact_id"): ("activity_id", "contact_id"),
}
NAMES = {("partner_name", "partner_id"), ("contact_name", "contact_id")}


def foreign_keys(kind: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to `kind`.id."""
    target = db.metadata.tables[kind]
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is target.c.id:
                found.append((table.name, fk.parent.name))
    return sorted(found)


def _identity(table, column):
    key = (table.name, column)
    if key in NAMES:
        return (column, "name")
    if key in IDENTITY:
        return IDENTITY[key]
    if "version_id" in table.c:  # a record: it is its own identity
        return ("id", column)
    return tuple(c.name for c in table.columns if c.name not in BOOKKEEPING)


def snapshot(kind: str, survivor_id: int, other_id: int) -> dict[tuple[str, str], Counter]:
    """For each foreign key to `kind`, the rows pointing at either record, as identity
    tuples with the other record's id replaced by the survivor's."""
    target = db.metadata.tables[kind]
    out = {}
    for table_name, column in foreign_keys(kind):
        table = db.metadata.tables[table_name]
        columns = _identity(table, column)
        fks_to_kind = {fk.parent.name for fk in table.foreign_keys if fk.column is target.c.id}
        where = table.c[column].in_((survivor_id, other_id))
        if table is target:
            where = and_(where, table.c.id.not_in((survivor_id, other_id)))
        rows = db.session.execute(select(*[table.c[c] for c in columns]).where(where)).all()
        mapped = Counter()
        for row in rows:
            values = []
            for name, value in zip(columns, row, strict=True):
                if name in fks_to_kind and value == other_id:
                    value = survivor_id
                if name == "name" and isinstance(value, str):
                    value = value.casefold()
                values.append(value)
            mapped[tuple(values)] += 1
        out[(table_name, column)] = mapped
    return out


def pointing_at(kind: str, record_id: int, exclude_ids=()) -> dict[tuple[str, str], int]:
    """How many rows still point at `record_id`, per foreign key (non-zero ones only)."""
    target = db.metadata.tables[kind]
    left = {}
    for table_name, column in foreign_keys(kind):
        table = db.metadata.tables[table_name]
        where = table.c[column] == record_id
        if table is target and exclude_ids:
            where = and_(where, table.c.id.not_in(exclude_ids))
        n = len(db.session.execute(select(table.c[column]).where(where)).all())
        if n:
            left[(table_name, column)] = n
    return left
