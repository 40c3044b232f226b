"""Merging two partners (or two contacts) into one, with nothing lost and nothing doubled.

The surviving record takes, field by field, the value chosen; the other record's names
become other names of the survivor; every row anywhere that points at the other record
moves to the survivor; the other record is archived with `merged_into_id` pointing at the
survivor, so its pages and old links lead there. All of it is one transaction and one
audit entry (`crm.audit.trail.one_entry`).

Which rows point at a record is read from the metadata, not listed by hand: every foreign
key to partner.id or contact.id is a `LinkStep` (see `plan`). A plain foreign key moves
(a documents table, say, needs no code here). Where a unique constraint or primary key
includes it (a tag, an activity link, a project role), a row that would collide with the
survivor's own is combined into it rather than doubled; reviewed link rows identical but
for the record (a post held at both names) are combined the same way. A few links need a
rule of their own (names; an agreement party in the same role, whose signatory is kept; an
attendee of the same activity). A shape the generic move cannot merge without losing
something (one row per record; a combined row that would lose data or that other tables
point at) is refused by `plan`, and tests/duplicates/test_merge_plan.py fails until it
gets a rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    MetaData,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)

from crm.activities.models import Activity, ActivityAttendee
from crm.agreements.models import Agreement, AgreementParty
from crm.audit.trail import one_entry
from crm.contacts.models import Contact, ContactName
from crm.db import db, utcnow
from crm.duplicates import index
from crm.partners.models import Partner, PartnerName
from crm.vocab import PARTY_ROLES, label

# Links with a rule of their own: (table, column) -> strategy.
EXPLICIT = {
    ("partner_name", "partner_id"): "names",
    ("contact_name", "contact_id"): "names",
    ("agreement_party", "partner_id"): "parties",
    ("activity_attendee", "contact_id"): "attendees",
}
# Links reviewed by hand that a merge may combine rather than double: on their unique
# constraint (the extra columns are copies, such as an activity link's time), or, with
# "identical", also when every column but the record is the same (one post held twice).
COMBINE = {
    ("partner_tag", "partner_id"): "unique",
    ("project_partner", "partner_id"): "unique",
    ("activity_partner", "partner_id"): "unique",
    ("activity_contact", "contact_id"): "unique",
    ("position", "partner_id"): "identical",
    ("position", "contact_id"): "identical",
    ("key_figure", "partner_id"): "identical",
}
# How each link is called in the merge's audit entry (others: the table's name).
FIELDS = {
    ("partner_name", "partner_id"): "other_names",
    ("contact_name", "contact_id"): "other_names",
    ("agreement_party", "partner_id"): "agreements",
    ("agreement_party", "signatory_id"): "signed",
    ("position", "partner_id"): "people",
    ("position", "contact_id"): "positions",
    ("project_partner", "partner_id"): "projects",
    ("activity_partner", "partner_id"): "activities",
    ("activity_contact", "contact_id"): "activities",
    ("activity_attendee", "contact_id"): "attended",
    ("follow_up", "partner_id"): "follow_ups",
    ("follow_up", "contact_id"): "follow_ups",
    ("partner", "parent_id"): "children",
    ("partner", "merged_into_id"): "merged_records",
    ("contact", "merged_into_id"): "merged_records",
    ("key_figure", "partner_id"): "figures",
    ("partner_tag", "partner_id"): "tags",
    ("document", "partner_id"): "documents",
    ("document", "contact_id"): "documents",
}
LABEL_COLUMNS = ("title", "name", "name_en", "label", "filename", "role")
LABELS_KEPT = 50

# Fields chosen side by side; "both" keeps the two texts one after the other.
PARTNER_FIELDS = (
    "name_en",
    "name_zh",
    "kind",
    "status",
    "country",
    "city",
    "website",
    "parent_id",
    "owner_id",
    "is_own",
    "description",
)
CONTACT_FIELDS = ("name", "name_zh", "email", "phone", "owner_id", "notes")
BOTH_ALLOWED = {"description", "notes"}


class UnhandledLink(Exception):
    """A foreign key to a record that a merge cannot move without losing something."""


class MergeError(Exception):
    """A merge refused, with a message per field ("" for the whole form)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class LinkStep:
    """How rows of `table` pointing at the merged record through `column` move."""

    table: Table
    column: str
    strategy: str  # "move", "names", "parties", "attendees"
    field: str
    # Column sets: a moved row equal to a survivor's row on one of them is combined into it.
    collide_on: tuple[tuple[str, ...], ...] = ()
    # Rows that are records themselves (version column): moved, never combined.
    records: bool = False
    # The record kind's own table (parent, merged_into): the two records' rows stay out.
    own_table: bool = False


def _unique_sets(table: Table) -> list[set[str]]:
    sets = []
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint):
            names = {c.name for c in constraint.columns}
            if names and names != {"id"}:
                sets.append(names)
    for table_index in table.indexes:
        if table_index.unique:
            sets.append({c.name for c in table_index.columns})
    return sets


def _referenced(metadata: MetaData, table: Table) -> bool:
    return any(
        fk.column.table is table for other in metadata.tables.values() for fk in other.foreign_keys
    )


def plan(kind: str, metadata: MetaData | None = None) -> list[LinkStep]:
    """Every foreign key to `kind`.id and how a merge moves its rows; UnhandledLink if one
    cannot be moved without losing or doubling something."""
    metadata = metadata if metadata is not None else db.metadata
    target = metadata.tables[kind]
    steps = []
    for table in metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            if fk.column is not target.c.id:
                continue
            column = fk.parent.name
            key = (table.name, column)
            field = FIELDS.get(key, table.name)
            if key in EXPLICIT:
                steps.append(LinkStep(table, column, EXPLICIT[key], field))
                continue
            uniques = [u for u in _unique_sets(table) if column in u]
            if any(u == {column} for u in uniques):
                raise UnhandledLink(
                    f"{table.name}.{column} holds one row per {kind}: a merge would have to "
                    "choose between two rows. Give it a rule in crm/duplicates/merge.py."
                )
            records = "version_id" in table.c
            surrogate = {c.name for c in table.primary_key.columns if c.name == "id"}
            # A unique constraint would refuse the move: the colliding row is combined into
            # the survivor's. Safe for rows nothing else points at and that carry nothing
            # beyond the link itself, or for links reviewed by hand (COMBINE).
            collide_on = [tuple(sorted(u - {column})) for u in uniques]
            if collide_on and _referenced(metadata, table):
                raise UnhandledLink(
                    f"{table.name}.{column}: rows of {table.name} are referenced by other "
                    "tables, so two of them cannot simply be combined. Give it a rule in "
                    "crm/duplicates/merge.py."
                )
            data = {c.name for c in table.columns} - surrogate - set().union(*uniques)
            if collide_on and data and key not in COMBINE:
                raise UnhandledLink(
                    f"{table.name}.{column}: a row combined with the survivor's would lose "
                    f"{', '.join(sorted(data))}. Give it a rule in crm/duplicates/merge.py."
                )
            if COMBINE.get(key) == "identical":
                # Link rows the same in every column but the record.
                rest = tuple(c.name for c in table.columns if c.name not in surrogate | {column})
                if rest and not any(set(rest) == set(c) for c in collide_on):
                    collide_on.append(rest)
            steps.append(
                LinkStep(
                    table,
                    column,
                    "move",
                    field,
                    collide_on=tuple(collide_on),
                    records=records,
                    own_table=table is target,
                )
            )
    return steps


# --- reading what would move ---------------------------------------------------------------


def _label_parts(step: LinkStep):
    """(extra joins, label columns) naming a row of the step's table for people."""
    table = step.table
    own = next((table.c[n] for n in LABEL_COLUMNS if n in table.c), None)
    if step.records or step.own_table:
        return [], [own] if own is not None else [table.primary_key.columns[0]]
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        if fk.parent.name == step.column or fk.column.table is step.table:
            continue
        if fk.column.table.name == "user":
            continue
        target = fk.column.table.alias()
        label = next((target.c[n] for n in LABEL_COLUMNS if n in target.c), None)
        if label is not None:
            return [(target, target.c[fk.column.name] == fk.parent)], [
                c for c in (label, own) if c is not None
            ]
    return [], [own] if own is not None else [table.primary_key.columns[0]]


def _where(step: LinkStep, record_id: int, merging: tuple[int, int]):
    column = step.table.c[step.column]
    clause = column == record_id
    if step.own_table:
        clause = and_(clause, step.table.c.id.not_in(merging))
    return clause


def link_labels(conn, step: LinkStep, record_id: int, merging, only=None, limit=LABELS_KEPT):
    """Names of the rows pointing at `record_id` through this step (at most `limit`)."""
    joins, columns = _label_parts(step)
    query = select(*columns).select_from(step.table)
    for target, on in joins:
        query = query.join(target, on)
    query = query.where(_where(step, record_id, merging))
    if only is not None:
        query = query.where(only)
    labels = []
    for row in conn.execute(query.limit(limit)):
        labels.append(" · ".join(str(v) for v in row if v not in (None, "")))
    return labels


def count_links(conn, step: LinkStep, record_id: int, merging) -> int:
    return conn.scalar(
        select(func.count()).select_from(step.table).where(_where(step, record_id, merging))
    )


def link_counts(kind: str, a: int, b: int) -> list[tuple[str, int, int]]:
    """(field, links of a, links of b) for every kind of link either has."""
    conn = db.session.connection()
    totals: dict[str, list[int]] = {}
    for step in plan(kind):
        na = count_links(conn, step, a, (a, b))
        nb = count_links(conn, step, b, (a, b))
        if na or nb:
            pair = totals.setdefault(step.field, [0, 0])
            pair[0] += na
            pair[1] += nb
    return [(field, na, nb) for field, (na, nb) in totals.items()]


# --- moving ------------------------------------------------------------------------------


def _colliding(step: LinkStep, survivor_id: int, other_id: int):
    """Condition on a row of the merged record: the survivor already has the same link."""
    table = step.table
    twin = table.alias()
    conditions = []
    for columns in step.collide_on:
        same = [twin.c[c].is_not_distinct_from(table.c[c]) for c in columns]
        conditions.append(exists().where(twin.c[step.column] == survivor_id, *same))
    if not conditions:
        return None
    return or_(*conditions)


def _move(conn, step: LinkStep, survivor_id: int, other_id: int, merging) -> dict[str, list]:
    table = step.table
    mine = _where(step, other_id, merging)
    moved_total = count_links(conn, step, other_id, merging)
    if not moved_total:
        return {}
    facts: dict[str, list] = {}
    combined_total = 0
    collide = _colliding(step, survivor_id, other_id)
    if collide is not None:
        combined = link_labels(conn, step, other_id, merging, only=collide)
        if combined:
            combined_total = conn.execute(delete(table).where(mine, collide)).rowcount
            facts["combined"] = _capped(combined, combined_total)
    labels = link_labels(conn, step, other_id, merging)
    values = {step.column: survivor_id}
    if step.records:
        values["version_id"] = table.c.version_id + 1
        if "updated_at" in table.c:
            values["updated_at"] = utcnow()
    moved = conn.execute(update(table).where(mine).values(**values)).rowcount
    if moved:
        facts["moved"] = _capped(labels, moved)
    return facts


def _capped(labels: list[str], total: int) -> list[str]:
    if total > len(labels):
        return [*labels, str(_l("… and %(n)s more", n=total - len(labels)))]
    return labels


def _survivor_rows(conn, table, column: str, survivor_id: int, key: str, keys) -> dict:
    """The survivor's rows of `table` whose `key` column is among `keys`, by that key."""
    found: dict = {}
    keys = sorted(set(keys))
    for i in range(0, len(keys), 500):
        rows = conn.execute(
            select(table).where(table.c[column] == survivor_id, table.c[key].in_(keys[i : i + 500]))
        )
        for row in rows.mappings():
            found.setdefault(row[key], []).append(row)
    return found


def _move_or_combine(conn, table, column, survivor_id, other_id, *, parent, key, text, twin, fill):
    """Rows of `table` pointing at the other record through `column`, each about a
    `parent` record (its id in `key`, its title named in the audit entry by `text(row)`):
    moved to the survivor, or combined into the survivor's own row about the same parent
    that `twin(row, survivor_rows)` finds, which takes the values `fill(row, same)` gives.
    """
    theirs = (
        conn.execute(
            select(table, parent.title)
            .join(parent, parent.id == table.c[key])
            .where(table.c[column] == other_id)
            .order_by(table.c.id)
        )
        .mappings()
        .all()
    )
    mine = _survivor_rows(conn, table, column, survivor_id, key, [r[key] for r in theirs])
    facts: dict[str, list] = {}
    combined, moved = [], []
    for row in theirs:
        same = twin(row, mine.get(row[key], []))
        if same is None:
            moved.append(row["id"])
            facts.setdefault("moved", []).append(text(row))
            continue
        if values := fill(row, same):
            conn.execute(update(table).where(table.c.id == same["id"]).values(**values))
        combined.append(row["id"])
        facts.setdefault("combined", []).append(text(row))
    _delete_and_move(conn, table, column, survivor_id, combined, moved)
    return {k: _capped(v[:LABELS_KEPT], len(v)) for k, v in facts.items()}


def _move_parties(conn, step, survivor_id, other_id, merging) -> dict[str, list]:
    """The same organisation in the same role of the same agreement: one party, keeping
    whichever signatory either row had."""

    def fill(row, same) -> dict:
        values = {}
        if same["signatory_id"] is None and row["signatory_id"] is not None:
            values["signatory_id"] = row["signatory_id"]
        if not same["signatory_title"] and row["signatory_title"]:
            values["signatory_title"] = row["signatory_title"]
        return values

    return _move_or_combine(
        conn,
        AgreementParty.__table__,
        "partner_id",
        survivor_id,
        other_id,
        parent=Agreement,
        key="agreement_id",
        text=lambda row: f"{row['title']} · {label(PARTY_ROLES, row['role'])}",
        twin=lambda row, rows: next((m for m in rows if m["role"] == row["role"]), None),
        fill=fill,
    )


def _move_attendees(conn, step, survivor_id, other_id, merging) -> dict[str, list]:
    """The same person twice at one activity: one attendee, keeping the more telling part
    (presided, spoke ...) over plain "attended"."""

    def fill(row, same) -> dict:
        if same["role"] == "attended" and row["role"] != "attended":
            return {"role": row["role"]}
        return {}

    return _move_or_combine(
        conn,
        ActivityAttendee.__table__,
        "contact_id",
        survivor_id,
        other_id,
        parent=Activity,
        key="activity_id",
        text=lambda row: row["title"],
        twin=lambda row, rows: rows[0] if rows else None,
        fill=fill,
    )


def _delete_and_move(conn, table, column, survivor_id, combined: list, moved: list) -> None:
    for i in range(0, len(combined), 500):
        conn.execute(delete(table).where(table.c.id.in_(combined[i : i + 500])))
    for i in range(0, len(moved), 500):
        conn.execute(
            update(table).where(table.c.id.in_(moved[i : i + 500])).values({column: survivor_id})
        )


# --- the merge ---------------------------------------------------------------------------


def _model(kind: str):
    return (Partner, PartnerName) if kind == "partner" else (Contact, ContactName)


def fields_for(kind: str) -> tuple[str, ...]:
    return PARTNER_FIELDS if kind == "partner" else CONTACT_FIELDS


def name_fields(kind: str) -> tuple[str, str]:
    return ("name_en", "name_zh") if kind == "partner" else ("name", "name_zh")


def final_values(kind: str, survivor, other, choices: dict[str, str]) -> dict[str, object]:
    """The survivor's value of each field after the merge, from the choices made."""
    values = {}
    for field in fields_for(kind):
        mine, theirs = getattr(survivor, field), getattr(other, field)
        # Unless told otherwise, an empty field takes the other record's value.
        default = "other" if mine in (None, "") and theirs not in (None, "") else "survivor"
        choice = choices.get(field) or default
        if choice == "both" and field in BOTH_ALLOWED:
            values[field] = "\n\n".join(v for v in (mine, theirs) if v) or None
        elif choice == "other":
            values[field] = theirs
        else:
            values[field] = mine
    if kind == "partner":
        values["country"] = values["country"] or ""
        values["is_own"] = True if values["is_own"] else None
        if values["parent_id"] in (survivor.id, other.id):
            values["parent_id"] = None
    return values


def _parent_problem(survivor, other, parent_id) -> str | None:
    """Why `parent_id` cannot be the survivor's parent once the other's children are its."""

    current, seen = parent_id, set()
    while current is not None and current not in seen and len(seen) < 100:
        if current in (survivor.id, other.id):
            return str(_l("This parent would make the organisation its own ancestor."))
        seen.add(current)
        current = db.session.scalar(select(Partner.parent_id).where(Partner.id == current))
    return None


def check(kind: str, survivor, other, versions: tuple[int | None, int | None], choices):
    """Every reason the merge cannot go ahead, by field ("" for the whole form)."""
    errors: dict[str, str] = {}
    if survivor.id == other.id:
        errors[""] = str(_l("Choose two different records."))
        return errors
    for record in (survivor, other):
        if record.merged_into_id is not None:
            errors[""] = str(_l("%(name)s was already merged.", name=record.display_name))
        elif record.archived_at is not None:
            errors[""] = str(
                _l("%(name)s is archived: restore it first.", name=record.display_name)
            )
    if versions != (survivor.version_id, other.version_id):
        errors[""] = str(
            _l(
                "Someone changed one of these records since this page was loaded. "
                "Check the values again, then merge."
            )
        )
    if kind == "partner" and not errors:
        values = final_values(kind, survivor, other, choices)
        if problem := _parent_problem(survivor, other, values["parent_id"]):
            errors["parent_id"] = problem
    return errors


def merge(kind: str, survivor, other, choices: dict[str, str], actor, versions) -> dict:
    """Merge `other` into `survivor`. Nothing commits here; raises MergeError when refused.

    Returns the facts recorded in the audit entry (what moved, what was combined).
    """

    if errors := check(kind, survivor, other, versions, choices):
        raise MergeError(errors)
    steps = plan(kind)
    values = final_values(kind, survivor, other, choices)
    session = db.session
    conn_merging = (survivor.id, other.id)
    with one_entry(session, survivor, "merge") as facts:
        if kind == "partner" and other.is_own and values["is_own"]:
            other.is_own = None  # one "us" at a time: free the unique flag first
            session.flush()
        displaced = _apply_fields(kind, survivor, other, values)
        _merge_names(kind, survivor, other, displaced)
        other.archive(actor)
        other.merged_into_id = survivor.id
        survivor.stamp(actor)
        session.flush()
        conn = session.connection()
        for step in steps:
            if step.strategy == "names":
                continue
            mover = {"parties": _move_parties, "attendees": _move_attendees}.get(
                step.strategy, _move
            )
            moved = mover(conn, step, survivor.id, other.id, conn_merging)
            for change, labels in moved.items():
                facts.setdefault(step.field, {}).setdefault(change, []).extend(labels)
        # The survivor's collections changed underneath the ORM: read them again, then
        # refresh its derived columns through the ORM so the search triggers fire.
        session.expire(survivor)
        survivor.refresh_derived()
        survivor.touch()
        facts["merged_from"] = [None, {"id": other.id, "label": other.display_name}]
        session.flush()
        index.forget_pairs(conn, kind, other.id)
    return facts


def _apply_fields(kind: str, survivor, other, values) -> list[str]:
    """Set the chosen values on the survivor; return its names that the other's replaced."""
    displaced = []
    for field in name_fields(kind):
        old = getattr(survivor, field)
        if old and old != values[field]:
            displaced.append(old)
    for field, value in values.items():
        if getattr(survivor, field) != value:
            setattr(survivor, field, value)
    return displaced


def _merge_names(kind: str, survivor, other, displaced: list[str]) -> None:
    """The other's names (main and other) and the survivor's replaced names become other
    names of the survivor; a name it already has is not added twice."""
    _, name_model = _model(kind)
    main = {(getattr(survivor, f) or "").casefold() for f in name_fields(kind)}
    have = {n.name.casefold() for n in survivor.other_names} | main
    for row in list(other.other_names):
        other.other_names.remove(row)
        if row.name.casefold() in have:
            continue  # combined: the survivor already has this name
        have.add(row.name.casefold())
        survivor.other_names.append(row)
    candidates = displaced + [getattr(other, f) for f in name_fields(kind)]
    for name in candidates:
        if name and name.casefold() not in have:
            have.add(name.casefold())
            survivor.other_names.append(name_model(name=name, kind="alias"))
