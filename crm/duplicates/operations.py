"""Writes on the duplicate index from the pages. Nothing here commits."""

from __future__ import annotations

from crm.db import db, utcnow
from crm.duplicates import index
from crm.duplicates.models import KINDS, DuplicatePair


def dismiss(pair: DuplicatePair, actor) -> None:
    """ "Not a duplicate": the pair leaves the list and stays out when the records change."""
    if pair.dismissed_at is None:
        pair.dismissed_at = utcnow()
        pair.dismissed_by_id = actor.id


def reopen(pair: DuplicatePair) -> None:
    pair.dismissed_at = None
    pair.dismissed_by_id = None


def check_new_records(limit: int = 2000) -> dict[str, tuple[int, bool]]:
    """Check records never checked (added in bulk), at most `limit` of each kind."""
    conn = db.session.connection()
    return {kind: index.check_unchecked(conn, kind, limit) for kind in KINDS}


def unchecked_kinds() -> list[str]:
    conn = db.session.connection()
    return [kind for kind in KINDS if index.unchecked_behind(conn, kind)]
