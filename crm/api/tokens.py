"""Personal API tokens: made, listed, revoked, and checked on each API request.

A token is 256 random bits, shown to its owner once. Only its SHA-256 is stored: a
token is random and long, so a fast hash is enough (nothing to brute-force), and the
lookup is a single indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from crm.api.models import ApiToken
from crm.auth.models import User
from crm.db import db, utcnow, write_aside

PREFIX = "crm_"
MAX_ACTIVE_TOKENS = 20
# Writing "last used" on every request would turn each read into a write; every few
# minutes says as much.
TOUCH_EVERY = timedelta(minutes=5)


class TokenError(Exception):
    """A token change refused, with a message per field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token_text() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def active_tokens(user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked (expired ones included, marked as such)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            .limit(MAX_ACTIVE_TOKENS)
        )
    )


def create_token(user: User, name: str, expires_at: datetime | None) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns the row and the token text (never stored)."""
    live = db.session.scalar(
        select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if live >= MAX_ACTIVE_TOKENS:
        raise TokenError(
            {
                "name": str(
                    _l(
                        "You already have %(n)d tokens: revoke one you no longer use first.",
                        n=MAX_ACTIVE_TOKENS,
                    )
                )
            }
        )
    text = new_token_text()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(text),
        hint=text[: len(PREFIX) + 4],
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return token, text


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def revoke_all(user: User) -> None:
    """Revoke every live token of `user` (on deactivation: reactivating brings none back)."""
    for token in db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        revoke_token(token)


def authenticate(text: str) -> tuple[ApiToken, User] | None:
    """The token and its user when `text` is a live token of an active user, else None."""
    if not text.startswith(PREFIX) or len(text) > 200:
        return None
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(text))
    ).first()
    if row is None:
        return None
    token, user = row
    if not user.active or not token.is_usable:
        return None
    return token, user


def needs_touch(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= TOUCH_EVERY


def touch(token_id: int, last_used_at: datetime | None) -> None:
    """Record that the token was used now, when its last use (as the request read it) is
    older than TOUCH_EVERY.

    The write is made apart from the request (`write_aside`): a failure only leaves the
    previous time in place.
    """
    now = utcnow()
    if needs_touch(last_used_at, now):
        # End the request's own transaction first: after a write request re-read what it
        # committed, it holds SQLite's write lock, which the write below would wait for.
        # What the request left uncommitted was refused anyway.
        db.session.rollback()
        statement = update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        write_aside(statement, what="an API token's last use")
