"""API fixtures: a real token per role, and a client that sends it."""

from __future__ import annotations

import pytest

from crm.api.tokens import create_token
from crm.db import db


class ApiClient:
    """Calls the API with `Authorization: Bearer <token>` (and no cookie)."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.token = token

    def open(self, method, url, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self.open("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.open("POST", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.open("PATCH", url, **kwargs)


@pytest.fixture
def tokens(app, users):
    """A live token text per role."""
    made = {role: create_token(user, f"{role} token", None)[1] for role, user in users.items()}
    db.session.commit()
    return made


@pytest.fixture
def api(app, tokens):
    """One API client per role: api["staff"], api["manager"], api["admin"]."""
    return {role: ApiClient(app, token) for role, token in tokens.items()}
