"""Turning a user's calendar feed on (a new secret URL), off, and finding whose it is."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from crm.auth.models import User
from crm.db import db, utcnow
from crm.feeds.models import CalendarFeed


def hash_secret(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def feed_of(user: User) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def regenerate(user: User) -> str:
    """A new secret for the user's feed (the old URL stops working); returns the secret."""
    feed = feed_of(user)
    if feed is None:
        feed = CalendarFeed(user_id=user.id)
        db.session.add(feed)
    text = secrets.token_urlsafe(32)
    feed.token_hash = hash_secret(text)
    feed.created_at = utcnow()
    feed.revoked_at = None
    db.session.flush()
    return text


def revoke(user: User) -> bool:
    """Turn the feed off; False when it was not on."""
    feed = feed_of(user)
    if feed is None or feed.token_hash is None:
        return False
    feed.token_hash = None
    feed.revoked_at = utcnow()
    return True


def user_for_secret(text: str) -> User | None:
    """The active user whose feed has this secret, or None (unknown, revoked, garbled)."""
    if not text or len(text) > 200:
        return None
    return db.session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(CalendarFeed.token_hash == hash_secret(text), User.active.is_(True))
    )
