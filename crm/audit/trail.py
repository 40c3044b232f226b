"""Writing the audit trail from the ORM's own change tracking.

After every flush, each changed record gets one AuditEntry in the same transaction: its
created/changed fields with old and new values, and its links (other names, positions,
parties, project partners, milestones, indicators, tags, agreements ...) added, removed or
changed. A record declares itself with `__audit_type__`; a link row with
`__audit_parent__ = (relationship to its record, field name)` and an `audit_label()`.
Work that bypasses the ORM (bulk inserts) calls `record_bulk` itself.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from flask import has_request_context
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from crm.audit.models import AuditEntry
from crm.db import db, utcnow

# Derived or bookkeeping columns: their changes are not news to anyone.
IGNORED = {
    "id",
    "sort_name",
    "sort_title",
    "search_text",
    "signed_sort",
    "expires_sort",
    "start_sort",
    "created_at",
    "updated_at",
    "created_by_id",
    "updated_by_id",
    "version_id",
    "archived_by_id",
}

_acting_as: contextvars.ContextVar[int | None] = contextvars.ContextVar("acting_as", default=None)


@contextmanager
def acting_as(user_id: int | None):
    """Attribute writes outside a request (CLI, imports) to a user."""
    token = _acting_as.set(user_id)
    try:
        yield
    finally:
        _acting_as.reset(token)


@contextmanager
def audit_action(session: Session, action: str):
    """Label the entries written meanwhile as `action` ("merge", "import" ...)."""
    previous = session.info.get("audit_action")
    session.info["audit_action"] = action
    try:
        yield
    finally:
        session.info["audit_action"] = previous


@contextmanager
def one_entry(session: Session, record, action: str):
    """Write everything changed inside the block as ONE entry about `record`.

    A merge archives one record, changes another and moves many links: the ORM hooks
    would write an entry per record touched. Inside this block they collect as usual; on
    leaving, the record's own changes are kept, the other records' column changes are
    listed under "related", and the block adds the facts the ORM cannot see (links moved
    by bulk statements) through the dict it yields. Nothing is written if the block fails.
    """
    session.flush()
    stash = session.info.pop("audit_pending", None) or {}
    try:
        facts: dict = {}
        yield facts
        session.flush()
        inside = session.info.pop("audit_pending", None) or {}
    except BaseException:
        session.info["audit_pending"] = stash
        raise
    key = (record.__audit_type__, record.id)
    changes = dict(inside.pop(key, {}).get("changes", {}))
    related = []
    for (_other_type, other_id), e in inside.items():
        columns = {f: v for f, v in e["changes"].items() if isinstance(v, list)}
        if columns:
            label = _label(e["record"]) if e.get("record") is not None else ""
            related.append({"item": f"{label} (#{other_id})", **columns})
    if related:
        changes["related"] = {"changed": related}
    changes.update(facts)
    # A key of its own: an earlier entry for the same record in this transaction stays apart.
    stash[(*key, f"one_entry:{len(stash)}")] = {
        "action": action,
        "override": action,
        "changes": changes,
        "record": record,
    }
    session.info["audit_pending"] = stash


def current_actor_id() -> int | None:
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return current_user.id
    return _acting_as.get()


def plain(value):
    """A JSON-safe form of a column value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return value


def _fk_label(session, column, value):
    """For a foreign key, the id and the name of what it points at."""
    if value is None:
        return None
    fk = next(iter(column.foreign_keys))
    model = _model_for_table(fk.column.table.name)
    target = session.get(model, value) if model is not None else None
    label = getattr(target, "display_name", None) or getattr(target, "name", None)
    return {"id": value, "label": label}


@lru_cache(maxsize=64)
def _model_for_table(name: str):
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is not None and mapper.local_table.name == name:
            return mapper.class_
    return None


def _column_changes(session, obj, creating: bool) -> dict:
    changes = {}
    state = inspect(obj)
    ignored = IGNORED | getattr(obj, "__audit_ignore__", frozenset())
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ignored:
            continue
        column = attr.columns[0]
        if creating:
            new = getattr(obj, key)
            if new is None or new == "" or new is False:
                continue
            old = None
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            if history.deleted:
                old = history.deleted[0]
            else:
                old = session.info.get("audit_old", {}).get(id(obj), {}).get(key)
            new = history.added[0] if history.added else None
            if old == new:
                continue
        if column.foreign_keys:
            changes[key] = [_fk_label(session, column, old), _fk_label(session, column, new)]
        else:
            changes[key] = [plain(old), plain(new)]
    return changes


def _collection_changes(obj) -> dict:
    """Many-to-many links kept on the record itself (tags, agreements of a project)."""
    changes = {}
    state = inspect(obj)
    for rel in state.mapper.relationships:
        if rel.secondary is None or rel.viewonly:
            continue
        history = state.attrs[rel.key].history
        added = [_label(o) for o in history.added]
        removed = [_label(o) for o in history.deleted]
        if added or removed:
            changes[rel.key] = {"added": added, "removed": removed}
    return changes


def _label(obj) -> str:
    if hasattr(obj, "audit_label"):
        return obj.audit_label()
    return getattr(obj, "display_name", None) or getattr(obj, "name", None) or str(obj)


def _owner(obj):
    """(record object, field) a link row belongs to, following nested links upward."""
    rel_name, field = obj.__audit_parent__
    parent = getattr(obj, rel_name)
    if parent is None:
        return None, field
    if hasattr(parent, "__audit_parent__"):
        owner, _ = _owner(parent)
        return owner, field
    return parent, field


def _remember_unloaded_old_values(session) -> None:
    """A column set while expired (after a commit) has no old value in its history; read
    the stored row once so the entry can still say what it was."""
    old = session.info.setdefault("audit_old", {})
    for obj in session.dirty:
        if not (hasattr(obj, "__audit_type__") or hasattr(obj, "__audit_parent__")):
            continue
        state = inspect(obj)
        missing = [
            attr
            for attr in state.mapper.column_attrs
            if attr.key not in IGNORED
            and state.attrs[attr.key].history.added
            and not state.attrs[attr.key].history.deleted
            and state.committed_state.get(attr.key, None) is not None
        ]
        if not missing or state.identity is None:
            continue
        row = session.execute(
            select(*[attr.columns[0] for attr in missing]).where(
                *[
                    col == value
                    for col, value in zip(state.mapper.primary_key, state.identity, strict=True)
                ]
            )
        ).first()
        if row is not None:
            old[id(obj)] = {attr.key: value for attr, value in zip(missing, row, strict=True)}


def _touch_parents(session, flush_context, instances):
    """Before a flush: a record whose links change gets a new version (stale-edit check)."""
    for obj in list(session.deleted) + list(session.dirty):
        if isinstance(obj, AuditEntry):
            raise RuntimeError("audit entries are append-only")
    with session.no_autoflush:
        _remember_unloaded_old_values(session)
    with session.no_autoflush:
        # Each of these properties builds a new set: read them once, not once per link.
        new, dirty, deleted = session.new, session.dirty, session.deleted
        link_owners = set()
        for obj in list(new) + list(dirty) + list(deleted):
            if not hasattr(obj, "__audit_parent__"):
                continue
            if obj in dirty and not session.is_modified(obj, include_collections=False):
                continue
            owner, _ = _owner(obj)
            if owner is not None and owner not in new and owner not in deleted:
                owner.updated_at = utcnow()
                link_owners.add(owner)
        for obj in dirty:
            if obj not in link_owners and obj not in deleted:
                _settle_stamp(session, obj)


# Columns a save sets whatever it changes: alone, they are not a change.
BOOKKEEPING = ("updated_at", "updated_by_id", "version_id")


def _settle_stamp(session, obj) -> None:
    """A record whose only change is its stamp (who saved it, when) is left as it was: a
    save that changes nothing writes nothing (no new version, no "updated" time or user,
    no audit entry). A record whose links alone changed gets a new "updated" time, so
    its version moves on (and a concurrent save of it is caught)."""
    if not hasattr(obj, "__audit_type__") or not hasattr(obj, "version_id"):
        return
    state = inspect(obj)
    if obj.__dict__.pop("_touched", False):
        return
    if _columns_changed(session, obj, state):
        return
    if _links_changed(obj, state):
        obj.updated_at = utcnow()
        return
    for key in BOOKKEEPING:
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        if history.deleted:
            setattr(obj, key, history.deleted[0])
        else:
            session.expire(obj, [key])


def _columns_changed(session, obj, state) -> bool:
    old_values = session.info.get("audit_old", {}).get(id(obj), {})
    for attr in state.mapper.column_attrs:
        if attr.key in BOOKKEEPING:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        if history.deleted:
            old = history.deleted[0]
        elif attr.key in old_values:
            old = old_values[attr.key]
        else:
            return True  # set while unloaded, old value unknown: count it
        new = history.added[0] if history.added else None
        if old != new:
            return True
    return False


def _links_changed(obj, state) -> bool:
    """Many-to-many links (tags, staff) or the record's own link rows added or removed."""
    for rel in state.mapper.relationships:
        if rel.viewonly:
            continue
        if rel.secondary is None:
            child = rel.mapper.class_
            parent = getattr(child, "__audit_parent__", None)
            if not rel.uselist or parent is None:
                continue
            back = inspect(child).relationships.get(parent[0])
            if back is None or not isinstance(obj, back.mapper.class_):
                continue
        history = state.attrs[rel.key].history
        if history.added or history.deleted:
            return True
    return False


def _collect(session, flush_context):
    """After each flush: fold this flush's changes into the transaction's pending entries.

    A request may flush several times (autoflush before a query); the entries are written
    once, at commit, one per record, so a save is one entry however it was flushed.
    """
    entries: dict[tuple[str, int], dict] = session.info.setdefault("audit_pending", {})
    action_override = session.info.get("audit_action")

    def entry(record):
        key = (record.__audit_type__, record.id)
        if key not in entries:
            entries[key] = {"action": None, "changes": {}, "record": record}
        return entries[key]

    def merge(e, changes):
        for field, value in changes.items():
            if isinstance(value, list) and isinstance(e["changes"].get(field), list):
                e["changes"][field] = [e["changes"][field][0], value[1]]
            elif isinstance(value, dict) and isinstance(e["changes"].get(field), dict):
                for kind, items in value.items():
                    e["changes"][field].setdefault(kind, []).extend(items)
            else:
                e["changes"][field] = value

    with session.no_autoflush:
        for obj in session.new:
            if hasattr(obj, "__audit_type__"):
                e = entry(obj)
                e["action"] = "create"
                merge(e, _column_changes(session, obj, creating=True))
                merge(e, _collection_changes(obj))
                if action_override:
                    e["override"] = action_override
        for obj in session.dirty:
            if hasattr(obj, "__audit_type__") and session.is_modified(obj):
                changes = _column_changes(session, obj, creating=False)
                changes.update(_collection_changes(obj))
                if not changes:
                    continue
                e = entry(obj)
                archived = changes.get("archived_at")
                if archived and archived[0] is None and e["action"] is None:
                    e["action"] = "archive"
                elif archived and archived[1] is None and e["action"] is None:
                    e["action"] = "restore"
                if action_override:
                    e["override"] = action_override
                merge(e, changes)
        counted: set[int] = set()

        def add_link(owner, field, kind, item):
            owner_entry = entry(owner)
            if action_override:
                owner_entry["override"] = action_override
            bucket = owner_entry["changes"].setdefault(field, {})
            bucket.setdefault(kind, []).append(item)

        # Links added to or removed from a collection (removed ones are orphans that the
        # flush deletes without their ever being in session.deleted).
        for obj in list(session.new) + list(session.dirty):
            if not (hasattr(obj, "__audit_type__") or hasattr(obj, "__audit_parent__")):
                continue
            owner = obj if hasattr(obj, "__audit_type__") else _owner(obj)[0]
            if owner is None:
                continue
            state = inspect(obj)
            for rel in state.mapper.relationships:
                if rel.secondary is not None or not rel.uselist or rel.viewonly:
                    continue
                if not hasattr(rel.mapper.class_, "__audit_parent__"):
                    continue
                history = state.attrs[rel.key].history
                for kind, children in (("added", history.added), ("removed", history.deleted)):
                    for child in children:
                        counted.add(id(child))
                        add_link(owner, child.__audit_parent__[1], kind, _label(child))
        # Links written directly (not through a collection), and changed links.
        for kind, objs in (
            ("added", session.new),
            ("changed", session.dirty),
            ("removed", session.deleted),
        ):
            for obj in objs:
                if not hasattr(obj, "__audit_parent__") or id(obj) in counted:
                    continue
                owner, field = _owner(obj)
                if owner is None:
                    continue
                if kind == "changed":
                    diff = _column_changes(session, obj, creating=False)
                    if not diff:
                        continue
                    item = {"item": _label(obj), **diff}
                else:
                    item = _label(obj)
                add_link(owner, field, kind, item)


def _write_pending(session):
    """Before commit: flush, then write one entry per changed record, in this transaction."""
    session.flush()
    session.info.pop("audit_old", None)
    entries = session.info.pop("audit_pending", None)
    if not entries:
        return
    rows = []
    actor = current_actor_id()
    now = utcnow()
    for key, e in entries.items():
        record_type, record_id = key[0], key[1]
        if not e["changes"] and e["action"] != "create":
            continue
        for value in e["changes"].values():
            if isinstance(value, dict):
                for k in [k for k, v in value.items() if not v]:
                    del value[k]
        rows.append(
            {
                "at": now,
                "user_id": actor,
                "record_type": record_type,
                "record_id": record_id,
                "action": e.get("override") or e["action"] or "update",
                "version": getattr(e["record"], "version_id", None),
                "changes": e["changes"],
            }
        )
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)


def write_now(session) -> None:
    """Write the entries of the changes made so far, without waiting for the commit.

    A long transaction of independent changes (an import's chunk of rows, each in its own
    savepoint) calls this after each change that stands, so that rolling back a later
    savepoint, which discards what is pending, loses only that change's entries.
    """
    _write_pending(session)


def record_bulk(
    session, action: str, record_type: str, records: list[tuple[int, dict]], batch: int = 10_000
) -> int:
    """Entries for writes that bypassed the ORM: (record_id, changes) pairs."""
    actor, now = current_actor_id(), utcnow()
    rows = [
        {
            "at": now,
            "user_id": actor,
            "record_type": record_type,
            "record_id": rid,
            "action": action,
            "version": 1,
            "changes": changes,
        }
        for rid, changes in records
    ]
    for i in range(0, len(rows), batch):
        session.execute(insert(AuditEntry.__table__), rows[i : i + batch])
    return len(rows)


def record_event(session, action: str, subject: str, subject_id: int, details: dict) -> None:
    """An entry that is not a record's change: an export, an import run or its undo.

    `subject` names what it is about ("export", "import"), `subject_id` which one (0 when
    there is no row to point at), and `details` holds plain values (shown as they are).
    """
    session.execute(
        insert(AuditEntry.__table__),
        [
            {
                "at": utcnow(),
                "user_id": current_actor_id(),
                "record_type": subject,
                "record_id": subject_id,
                "action": action,
                "version": None,
                "changes": details,
            }
        ],
    )


def _discard_pending(session, previous_transaction=None):
    """A rolled-back change leaves no entry behind."""
    session.info.pop("audit_pending", None)
    session.info.pop("audit_old", None)


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "before_flush", _touch_parents):
        event.listen(Session, "before_flush", _touch_parents)
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _write_pending)
        event.listen(Session, "after_soft_rollback", _discard_pending)
