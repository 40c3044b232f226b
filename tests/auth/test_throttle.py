"""Sign-in limits: failures per account and per client address, counted apart, and the
client address taken from a trusted proxy's X-Forwarded-For (CRM_PROXY_FIX)."""

from __future__ import annotations

import secrets

import pytest

from crm.db import db
from tests.factories import PASSWORD, make_user

REDIS = "redis://127.0.0.1:6379/4"


def fresh_address() -> str:
    """An address of its own per test, so counts left in Redis by other runs cannot matter."""
    return "10." + ".".join(str(b) for b in secrets.token_bytes(3))


def sign_in(app, email, password, address=None, headers=None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or fresh_address()
    return client.post_form("/login", {"email": email, "password": password}, headers=headers)


def accounts(app, n):
    with app.app_context():
        emails = [make_user().email for _ in range(n)]
        db.session.commit()
    return emails


@pytest.fixture
def limited(make_app):
    def _make(**extra):
        extra.setdefault("RATELIMIT_STORAGE_URI", "memory://")
        return make_app(RATELIMIT_ENABLED=True, **extra)

    return _make


def test_colleagues_failures_at_the_office_address_do_not_lock_anyone_out(limited):
    app = limited()  # the documented defaults
    office = fresh_address()
    *others, mine = accounts(app, 4)
    # Twelve typos by three colleagues behind the office's one address ...
    for email in others:
        for _ in range(4):
            assert sign_in(app, email, "wrong password!", office).status_code == 200
    # ... and someone else there still signs in with the right password.
    assert sign_in(app, mine, PASSWORD, office).status_code == 302


@pytest.mark.parametrize("storage", ["memory://", REDIS])
def test_guesses_at_one_account_from_many_addresses_are_limited(limited, storage):
    app = limited(LOGIN_ACCOUNT_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=storage)
    target, other = accounts(app, 2)
    # The same account however the email is typed: one counter.
    spellings = [target, f"  {target.upper()} ", target.title()]
    codes = [sign_in(app, email, "guess " * 3).status_code for email in spellings]
    assert codes == [200, 200, 200]
    locked = sign_in(app, target, "another guess")
    assert locked.status_code == 429 and "Too many attempts" in locked.text
    # Locked even for the right password from a new address: the limit is no oracle ...
    assert sign_in(app, target, PASSWORD).status_code == 429
    # ... while other accounts, from the very same addresses, are untouched.
    assert sign_in(app, other, PASSWORD).status_code == 302
    if storage.startswith("redis"):
        import redis

        connection = redis.Redis.from_url(storage)
        keys = connection.keys("*login-account*")
        assert keys  # kept where every worker sees the same count
        assert not any(target.encode() in key for key in keys)  # no emails in the store
        connection.delete(*keys, *connection.keys("*auth.login*"))


def test_address_limit_counts_failures_only_and_brakes_spraying(limited):
    app = limited(LOGIN_RATE_LIMIT="3 per minute")
    address = fresh_address()
    emails = accounts(app, 5)
    # Right passwords do not use up the address's allowance.
    for email in emails:
        assert sign_in(app, email, PASSWORD, address).status_code == 302
    # One guess at each of many accounts from one address: stopped at the address's limit.
    codes = [sign_in(app, email, "wrong password!", address).status_code for email in emails]
    assert codes == [200, 200, 200, 429, 429]
    assert sign_in(app, emails[0], PASSWORD, address).status_code == 429
    assert sign_in(app, emails[0], PASSWORD).status_code == 302  # elsewhere, fine


def test_a_form_that_checks_no_password_costs_nothing(limited):
    app = limited(LOGIN_RATE_LIMIT="2 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    (email,) = accounts(app, 1)
    address = fresh_address()
    for _ in range(4):  # no password given: the form is refused before any check
        assert sign_in(app, email, "", address).status_code == 200
    assert sign_in(app, email, PASSWORD, address).status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_addresses_get_their_own_limits_only_behind_a_trusted_proxy(limited, proxies):
    app = limited(LOGIN_RATE_LIMIT="2 per minute", PROXY_FIX=proxies)
    emails = accounts(app, 6)
    proxy, first, second = fresh_address(), fresh_address(), fresh_address()

    def via_proxy(email, client_address, sent=None):
        # The proxy appends the address it saw to whatever the client sent.
        forwarded = f"{sent}, {client_address}" if sent else client_address
        headers = {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"}
        # Over HTTPS the CSRF check wants a same-origin Referer, as browsers send here.
        headers["Referer"] = "https://localhost/login"
        return sign_in(app, email, "wrong password!", proxy, headers).status_code

    assert [via_proxy(emails[0], first), via_proxy(emails[1], first)] == [200, 200]
    assert via_proxy(emails[2], first) == 429
    # A client sending its own X-Forwarded-For cannot pose as someone else.
    assert via_proxy(emails[3], first, sent=second) == 429
    # Another client behind the same proxy: its own limit with PROXY_FIX, the shared one without.
    assert via_proxy(emails[4], second) == (200 if proxies else 429)


def test_a_trusted_proxy_also_gives_the_scheme(make_app):
    from flask import request

    from crm.security import requires

    seen = {}
    for proxies in (0, 1):
        app = make_app(PROXY_FIX=proxies)
        accounts(app, 1)  # past the first-run setup page

        @requires("public")
        def where(proxies=proxies):
            seen[proxies] = (request.remote_addr, request.scheme)
            return ""

        app.add_url_rule("/where", "where", where)
        headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        app.test_client().get("/where", headers=headers)
    assert seen[0] == ("127.0.0.1", "http")
    assert seen[1] == ("198.51.100.7", "https")
