"""Factories for every kind of record, with sensible unique defaults."""

from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from crm.auth.models import User
from crm.db import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
_password_hash = None


def _hash() -> str:
    # scrypt is slow on purpose; hash the shared test password once per run.
    global _password_hash
    if _password_hash is None:
        _password_hash = generate_password_hash(PASSWORD, method="scrypt")
    return _password_hash


def make_user(role="staff", email=None, name=None, active=True, **fields) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role}{n}@example.org",
        name=name or f"{role.title()} {n}",
        role=role,
        active=active,
        password_hash=_hash(),
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user
