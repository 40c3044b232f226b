"""Keeping the duplicate index current: profiles, blocking keys and likely pairs.

Every ORM write that touches a partner's or contact's names (or archives it) refreshes
that record in the same transaction, just before the commit: its profile and keys are
rewritten, and its pairs are found again by looking only at records that share a
blocking key, with each key's block capped (`MAX_BLOCK`): a word such as "technology"
that thousands of names share says nothing and is skipped. Bulk inserts that bypass the
ORM (`flask demo --scale`, imports) are caught up by `scan()` (`flask duplicates scan`)
or, for records never checked, by `check_unchecked()` (the duplicates page offers it).

Pairs someone dismissed ("not a duplicate") are never replaced: the decision stays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache

from sqlalchemy import and_, delete, event, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, attributes

from crm.contacts.models import Contact, ContactName
from crm.db import utcnow
from crm.duplicates.models import DuplicateKey, DuplicatePair, DuplicateProfile
from crm.duplicates.names import THRESHOLD, Match, Profile, compare, keys_of, profile_of
from crm.partners.models import Partner, PartnerName

# A key shared by more records than this is too common to say anything (e.g. "technology").
MAX_BLOCK = 100
_CHUNK = 500
_KEYS_PER_STATEMENT = 100

PROFILE = DuplicateProfile.__table__
KEY = DuplicateKey.__table__
PAIR = DuplicatePair.__table__


# --- reading records' names --------------------------------------------------------------


def _models(kind: str):
    if kind == "partner":
        return Partner, PartnerName, PartnerName.partner_id
    if kind == "contact":
        return Contact, ContactName, ContactName.contact_id
    raise ValueError(kind)


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def load_profiles(conn, kind: str, ids: Iterable[int]) -> dict[int, tuple[Profile, bool]]:
    """(profile, live) of each record among `ids`, computed from its stored names."""
    model, name_model, owner_col = _models(kind)
    ids = sorted(set(ids))
    out: dict[int, tuple[Profile, bool]] = {}
    for chunk in _chunks(ids):
        others: dict[int, list[str]] = defaultdict(list)
        for owner, name in conn.execute(
            select(owner_col, name_model.name).where(owner_col.in_(chunk)).order_by(name_model.id)
        ):
            others[owner].append(name)
        if kind == "partner":
            rows = conn.execute(
                select(model.id, model.name_en, model.name_zh, model.city, model.archived_at).where(
                    model.id.in_(chunk)
                )
            )
            for rid, en, zh, city, archived in rows:
                out[rid] = (profile_of([en, zh, *others[rid]], cities=[city]), archived is None)
        else:
            rows = conn.execute(
                select(model.id, model.name, model.name_zh, model.email, model.archived_at).where(
                    model.id.in_(chunk)
                )
            )
            for rid, name, zh, email, archived in rows:
                profile = profile_of([name, zh, *others[rid]], emails=[email], person=True)
                out[rid] = (profile, archived is None)
    return out


def draft_profile(
    kind: str, names: list[str | None], emails: list[str | None] = (), cities=()
) -> Profile:
    """The profile of a record not saved yet (the duplicate guard)."""
    return profile_of(names, emails=emails, cities=cities, person=kind == "contact")


# --- writing -----------------------------------------------------------------------------


def _insert_ignoring_conflicts(conn, table, rows: list[dict]) -> None:
    """Insert rows; one already there (a concurrent refresh) is left as it is."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        statement = table.insert()
    for chunk in _chunks(rows, 2000):
        conn.execute(statement, chunk)


def _write_profiles(
    conn, kind: str, profiles: dict[int, tuple[Profile, bool]], replace=()
) -> dict[int, set[str]]:
    """Store the profiles and the live ones' keys, first dropping what was stored for the
    ids in `replace` (records gone from the table included). Returns each live record's
    keys."""
    now = utcnow()
    if replace:
        for chunk in _chunks(sorted(set(replace))):
            conn.execute(
                delete(PROFILE).where(PROFILE.c.kind == kind, PROFILE.c.record_id.in_(chunk))
            )
            conn.execute(delete(KEY).where(KEY.c.kind == kind, KEY.c.record_id.in_(chunk)))
    keys = {rid: keys_of(p) for rid, (p, live) in profiles.items() if live}
    _insert_ignoring_conflicts(
        conn,
        PROFILE,
        [
            {"kind": kind, "record_id": rid, "live": live, "data": p.to_json(), "checked_at": now}
            for rid, (p, live) in profiles.items()
        ],
    )
    _insert_ignoring_conflicts(
        conn,
        KEY,
        [{"kind": kind, "key": key, "record_id": rid} for rid, ks in keys.items() for key in ks],
    )
    return keys


def block_members(conn, kind: str, keys: Iterable[str]) -> dict[str, list[int]]:
    """The records holding each key, for keys held by at most MAX_BLOCK records.

    Each key is read with a LIMIT, so a common key costs MAX_BLOCK + 1 index entries,
    however many thousands of records share it. The statement for n keys is written once
    (plain SQL with bound values): building a union of 100 subqueries anew for every
    batch of keys cost more than running it when an import checks 500 records at once.
    """
    members: dict[str, list[int]] = {}
    keys = sorted(set(keys))
    for chunk in _chunks(keys, _KEYS_PER_STATEMENT):
        params = {"kind": kind, "cap": MAX_BLOCK + 1}
        params.update({f"k{i}": key for i, key in enumerate(chunk)})
        found: dict[str, list[int]] = defaultdict(list)
        for key, rid in conn.execute(_block_statement(len(chunk)), params):
            found[key].append(rid)
        for key, rids in found.items():
            if len(rids) <= MAX_BLOCK:
                members[key] = rids
    return members


@lru_cache(maxsize=_KEYS_PER_STATEMENT)
def _block_statement(count: int):
    """SELECT key, record_id for `count` keys, each key's rows capped at :cap."""
    # Only loop indexes are formatted in; every value is bound.
    parts = [
        f'SELECT b{i}."key", b{i}.record_id FROM (SELECT "key", record_id '  # noqa: S608
        f'FROM duplicate_key WHERE kind = :kind AND "key" = :k{i} LIMIT :cap) AS b{i}'
        for i in range(count)
    ]
    return text(" UNION ALL ".join(parts)).columns(KEY.c.key, KEY.c.record_id)


def stored_profiles(conn, kind: str, ids: Iterable[int]) -> dict[int, Profile]:
    """The stored profiles of live records among `ids`."""
    out = {}
    for chunk in _chunks(sorted(set(ids))):
        for rid, data in conn.execute(
            select(PROFILE.c.record_id, PROFILE.c.data).where(
                PROFILE.c.kind == kind, PROFILE.c.record_id.in_(chunk), PROFILE.c.live.is_(True)
            )
        ):
            out[rid] = Profile.from_json(data)
    return out


def similar_to(
    conn, kind: str, profile: Profile, exclude: Iterable[int] = ()
) -> list[tuple[int, Match]]:
    """Live records that look like `profile`, most similar first."""
    excluded = set(exclude)
    members = block_members(conn, kind, keys_of(profile))
    candidates = {rid for rids in members.values() for rid in rids} - excluded
    found = []
    for rid, other in stored_profiles(conn, kind, candidates).items():
        match = compare(profile, other, person=kind == "contact")
        if match is not None and match.score >= THRESHOLD:
            found.append((rid, match))
    found.sort(key=lambda item: (-item[1].score, item[0]))
    return found


def _pair_row(kind: str, a: int, b: int, match: Match, now) -> dict:
    low, high = (a, b) if a < b else (b, a)
    reason = match.to_json()
    if a > b:  # keep "a" the name of the lower id
        reason["a"], reason["b"] = reason["b"], reason["a"]
    return {
        "kind": kind,
        "low_id": low,
        "high_id": high,
        "score": match.score,
        "reason": reason,
        "found_at": now,
    }


def refresh(conn, kind: str, ids: Iterable[int]) -> int:
    """Check these records again: profile, keys and open pairs. Returns pairs found."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    profiles = load_profiles(conn, kind, ids)
    # A record gone from its table (an import undone) leaves nothing behind.
    for chunk in _chunks(ids):
        conn.execute(
            delete(PAIR).where(
                PAIR.c.kind == kind,
                PAIR.c.dismissed_at.is_(None),
                or_(PAIR.c.low_id.in_(chunk), PAIR.c.high_id.in_(chunk)),
            )
        )
    own_keys = _write_profiles(conn, kind, profiles, replace=ids)
    live = {rid: p for rid, (p, is_live) in profiles.items() if is_live}
    if not live:
        return 0
    members = block_members(conn, kind, set().union(*own_keys.values()))
    candidates = {
        rid: {other for key in keys if key in members for other in members[key]} - {rid}
        for rid, keys in own_keys.items()
    }
    others = stored_profiles(conn, kind, set().union(*candidates.values()))
    now = utcnow()
    rows: dict[tuple[int, int], dict] = {}
    for rid, cands in candidates.items():
        for other in cands:
            pair = (min(rid, other), max(rid, other))
            if pair in rows or other not in others:
                continue
            match = compare(live[rid], others[other], person=kind == "contact")
            if match is not None and match.score >= THRESHOLD:
                rows[pair] = _pair_row(kind, rid, other, match, now)
    _insert_ignoring_conflicts(conn, PAIR, list(rows.values()))
    return len(rows)


def scan(conn, kind: str, batch: int = 5000) -> dict[str, int]:
    """Check every record of a kind from scratch (after bulk inserts or imports).

    Profiles and keys are rebuilt, then each block of records sharing a key (at most
    MAX_BLOCK of them) is compared within itself: never every pair with every pair.
    Dismissed pairs stay dismissed.
    """
    model, _, _ = _models(kind)
    conn.execute(delete(PROFILE).where(PROFILE.c.kind == kind))
    conn.execute(delete(KEY).where(KEY.c.kind == kind))
    conn.execute(delete(PAIR).where(PAIR.c.kind == kind, PAIR.c.dismissed_at.is_(None)))
    blocks: dict[str, list[int]] = defaultdict(list)
    live: dict[int, Profile] = {}
    last = 0
    records = 0
    while True:
        ids = list(
            conn.scalars(select(model.id).where(model.id > last).order_by(model.id).limit(batch))
        )
        if not ids:
            break
        last = ids[-1]
        profiles = load_profiles(conn, kind, ids)
        keys = _write_profiles(conn, kind, profiles)
        records += len(profiles)
        for rid, record_keys in keys.items():
            live[rid] = profiles[rid][0]
            for key in record_keys:
                blocks[key].append(rid)
    pairs: set[tuple[int, int]] = set()
    for rids in blocks.values():
        if 1 < len(rids) <= MAX_BLOCK:
            ordered = sorted(rids)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1 :]:
                    pairs.add((a, b))
    now = utcnow()
    rows = []
    for a, b in pairs:
        match = compare(live[a], live[b], person=kind == "contact")
        if match is not None and match.score >= THRESHOLD:
            rows.append(_pair_row(kind, a, b, match, now))
    _insert_ignoring_conflicts(conn, PAIR, rows)
    return {"records": records, "compared": len(pairs), "pairs": len(rows)}


def unchecked_behind(conn, kind: str) -> bool:
    """Whether records were added since the last check (bulk inserts): two index reads."""
    model, _, _ = _models(kind)
    newest = conn.scalar(select(func.max(model.id)))
    checked = conn.scalar(select(func.max(PROFILE.c.record_id)).where(PROFILE.c.kind == kind))
    return newest is not None and (checked is None or newest > checked)


def check_unchecked(conn, kind: str, limit: int = 2000) -> tuple[int, bool]:
    """Check up to `limit` records never checked; returns (checked, more left)."""
    model, _, _ = _models(kind)
    ids = list(
        conn.scalars(
            select(model.id)
            .where(
                ~select(PROFILE.c.record_id)
                .where(PROFILE.c.kind == kind, PROFILE.c.record_id == model.id)
                .exists()
            )
            .order_by(model.id)
            .limit(limit + 1)
        )
    )
    more = len(ids) > limit
    ids = ids[:limit]
    for chunk in _chunks(ids):
        refresh(conn, kind, chunk)
    return len(ids), more


def forget_pairs(conn, kind: str, record_id: int) -> None:
    """Drop every pair (dismissed ones too) of a record merged into another."""
    conn.execute(
        delete(PAIR).where(
            PAIR.c.kind == kind, or_(PAIR.c.low_id == record_id, PAIR.c.high_id == record_id)
        )
    )


def dismissed_between(conn, kind: str, a: int, b: int) -> bool:
    low, high = min(a, b), max(a, b)
    return (
        conn.scalar(
            select(PAIR.c.id).where(
                and_(
                    PAIR.c.kind == kind,
                    PAIR.c.low_id == low,
                    PAIR.c.high_id == high,
                    PAIR.c.dismissed_at.is_not(None),
                )
            )
        )
        is not None
    )


# --- keeping it current on every ORM write -------------------------------------------------

_TOUCHED = "duplicates_touched"
# Columns whose change alters what is compared (names, email) or whether it is (archive).
_WATCHED = {
    "partner": {"name_en", "name_zh", "city", "archived_at", "merged_into_id"},
    "contact": {"name", "name_zh", "email", "archived_at", "merged_into_id"},
}


def _watched_change(obj, kind: str) -> bool:
    state = attributes.instance_state(obj)
    return any(state.attrs[key].history.has_changes() for key in _WATCHED[kind])


def _collect(session, flush_context):
    """After each flush: note which partners and contacts need checking again."""

    touched = session.info.setdefault(_TOUCHED, set())
    # Each of these properties builds a new set: read them once, not once per object.
    new, dirty, deleted = session.new, session.dirty, session.deleted
    for obj in list(new) + list(dirty) + list(deleted):
        if isinstance(obj, Partner | Contact):
            kind = "partner" if isinstance(obj, Partner) else "contact"
            if obj in new or obj in deleted or _watched_change(obj, kind):
                touched.add((kind, obj.id))
        elif isinstance(obj, PartnerName | ContactName):
            is_partner = isinstance(obj, PartnerName)
            kind, owner = ("partner", "partner_id") if is_partner else ("contact", "contact_id")
            history = attributes.instance_state(obj).attrs[owner].history
            for value in [getattr(obj, owner), *history.deleted]:
                if value is not None:
                    touched.add((kind, value))
    # Names removed from a collection are deleted as orphans, never seen in session.deleted.
    for obj in dirty:
        if isinstance(obj, Partner | Contact):
            history = attributes.instance_state(obj).attrs["other_names"].history
            if history.added or history.deleted:
                touched.add(("partner" if isinstance(obj, Partner) else "contact", obj.id))


def _refresh_touched(session):
    """Before commit: check the touched records again, in the same transaction."""
    if not session.info.get(_TOUCHED):
        return
    session.flush()
    touched = session.info.pop(_TOUCHED, set())
    by_kind: dict[str, set[int]] = defaultdict(set)
    for kind, rid in touched:
        if rid is not None:
            by_kind[kind].add(rid)
    conn = session.connection()
    for kind, ids in sorted(by_kind.items()):
        refresh(conn, kind, ids)


def _discard(session, previous_transaction=None):
    """A rolled-back transaction checks nothing. A rolled-back savepoint (one row of an
    import) keeps the records touched before it: checking one more record is harmless."""
    if previous_transaction is not None and previous_transaction.nested:
        return
    session.info.pop(_TOUCHED, None)


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _refresh_touched)
        event.listen(Session, "after_soft_rollback", _discard)
