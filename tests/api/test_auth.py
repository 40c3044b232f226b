"""Personal API tokens: made and revoked in the settings, stored hashed, shown once; who
they let in; CSRF only for browser sessions; a rate limit per token; JSON errors."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.api.models import ApiToken
from crm.api.tokens import create_token
from crm.auth import operations as accounts
from crm.db import db, utcnow
from tests import factories
from tests.api.conftest import ApiClient


def test_a_token_is_made_in_the_settings_shown_once_and_stored_hashed(app, staff_client, users):
    page = staff_client.get("/account/api-tokens")
    assert page.status_code == 200 and "You have no API tokens." in page.text
    made = staff_client.post_form("/account/api-tokens", {"name": "Finance sync", "expires": "30"})
    assert made.status_code == 200
    assert "will not be shown again" in made.text
    text = made.text.split('id="new-token"')[1].split('value="')[1].split('"')[0]
    assert text.startswith("crm_") and len(text) >= 40
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(text.encode()).hexdigest()
    assert text not in (row.token_hash, row.hint) and text.startswith(row.hint)
    assert row.name == "Finance sync" and row.user_id == users["staff"].id
    assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
    # Shown once: the list shows only its first characters from now on.
    listed = staff_client.get("/account/api-tokens").text
    assert text not in listed and f"{row.hint}…" in listed and "Finance sync" in listed
    response = ApiClient(app, text).get("/api/v1/partners")
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at is not None


def test_a_token_needs_a_name(staff_client):
    page = staff_client.post_form("/account/api-tokens", {"name": " ", "expires": "90"})
    assert "This field is required." in page.text
    assert db.session.scalar(select(ApiToken)) is None


def test_revoking_a_token_stops_it_and_only_its_owner_may(app, users, staff_client, manager_client):
    row, text = create_token(users["staff"], "laptop", None)
    db.session.commit()
    assert manager_client.post_form(f"/account/api-tokens/{row.id}/revoke").status_code == 404
    assert ApiClient(app, text).get("/api/v1/partners").status_code == 200
    response = staff_client.post_form(f"/account/api-tokens/{row.id}/revoke")
    assert response.status_code == 302
    refused = ApiClient(app, text).get("/api/v1/partners")
    assert refused.status_code == 401 and "revoked" in refused.json["message"]
    assert "The token laptop is revoked" in staff_client.get("/account/api-tokens").text
    assert "laptop" not in staff_client.get("/account/api-tokens").text  # flash shown once


def test_expired_tokens_and_deactivated_users_are_refused(app, users):
    _row, expired = create_token(users["staff"], "old", utcnow() - timedelta(seconds=1))
    _row, live = create_token(users["manager"], "live", None)
    db.session.commit()
    assert ApiClient(app, expired).get("/api/v1/partners").status_code == 401
    assert ApiClient(app, live).get("/api/v1/partners").status_code == 200
    accounts.deactivate(users["manager"])
    db.session.commit()
    assert ApiClient(app, live).get("/api/v1/partners").status_code == 401
    accounts.reactivate(users["manager"])
    db.session.commit()
    # Deactivation revoked the token for good: reactivating the user brings it not back.
    assert ApiClient(app, live).get("/api/v1/partners").status_code == 401


@pytest.mark.parametrize("door", ["cli", "admin page"])
def test_deactivation_revokes_tokens_and_feed_for_good(app, users, admin_client, door):
    from crm.feeds import operations as feeds

    user = users["staff"]
    rows_and_texts = [create_token(user, name, None) for name in ("laptop", "sync")]
    feed_secret = feeds.regenerate(user)
    _other_row, others = create_token(users["manager"], "someone else's", None)
    db.session.commit()
    feed_url = f"/calendar/{feed_secret}.ics"
    assert app.test_client().get(feed_url).status_code == 200

    def set_active(active):
        if door == "cli":
            command = "deactivate" if not active else "reactivate"
            result = app.test_cli_runner().invoke(args=["user", command, user.email])
            assert result.exit_code == 0, result.output
        else:
            action = "deactivate" if not active else "reactivate"
            response = admin_client.post_form(f"/admin/users/{user.id}/{action}")
            assert response.status_code == 302

    set_active(False)
    set_active(True)
    for row, text in rows_and_texts:
        assert ApiClient(app, text).get("/api/v1/partners").status_code == 401
        db.session.refresh(row)
        assert row.revoked_at is not None
    assert app.test_client().get(feed_url).status_code == 404
    assert ApiClient(app, others).get("/api/v1/partners").status_code == 200  # only theirs
    # A token made after reactivation works.
    _row, fresh = create_token(db.session.merge(user), "new laptop", None)
    db.session.commit()
    assert ApiClient(app, fresh).get("/api/v1/partners").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer crm_" + "x" * 43,
        "Bearer not-even-the-format",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "crm_" + "y" * 5000,
        "Bearer crm_\u00e9\u00e9",
    ],
)
def test_requests_without_a_valid_token_are_401_json(app, users, header):
    headers = {"Authorization": header} if header else {}
    for method, url in (("GET", "/api/v1/partners"), ("POST", "/api/v1/partners")):
        response = app.test_client().open(url, method=method, headers=headers, json={})
        assert response.status_code == 401
        assert response.is_json and response.json["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_carries_its_users_role_as_it_is_now(app, users, api):
    assert api["staff"].post("/api/v1/partners/1/restore").status_code == 403
    accounts.set_role(users["staff"], "manager")
    db.session.commit()
    assert api["staff"].post("/api/v1/partners/1/restore").status_code == 404


def test_a_token_wins_over_a_session_cookie(app, users, tokens):
    """With a token, a cookie counts for nothing: a bad token is 401 even when signed in."""
    client = app.test_client().login_as(users["admin"])
    bad = client.get("/api/v1/partners", headers={"Authorization": "Bearer crm_nope"})
    assert bad.status_code == 401
    created = client.post(
        "/api/v1/partners",
        json={"name_en": "By token"},
        headers={"Authorization": f"Bearer {tokens['staff']}"},
    )
    assert created.status_code == 201 and created.json["created_by"] == users["staff"].id


def test_a_browser_session_may_read_but_writes_need_the_csrf_token(app, users, staff_client):
    assert staff_client.get("/api/v1/partners").status_code == 200
    refused = staff_client.post("/api/v1/partners", json={"name_en": "Forged"})
    assert refused.status_code == 400 and refused.is_json
    assert "CSRF" in refused.json["message"]
    forged = staff_client.post(
        "/api/v1/partners", json={"name_en": "Forged"}, headers={"X-CSRFToken": "x.y.z"}
    )
    assert forged.status_code == 400
    factories.make_partner(owner=users["staff"])
    db.session.commit()
    assert staff_client.post("/api/v1/partners/1/archive").status_code == 400
    allowed = staff_client.post(
        "/api/v1/partners",
        json={"name_en": "From our own page"},
        headers={"X-CSRFToken": staff_client.csrf_token()},
    )
    assert allowed.status_code == 201


def test_a_token_request_sets_no_cookie(app, api):
    response = api["staff"].get("/api/v1/partners")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/4"])
def test_each_token_has_its_own_rate_limit(make_app, users, storage):
    app = make_app(
        RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=storage
    )
    with app.app_context():
        first = create_token(db.session.merge(users["staff"]), "a", None)[1]
        second = create_token(db.session.merge(users["staff"]), "b", None)[1]
        db.session.commit()
    one, two = ApiClient(app, first), ApiClient(app, second)
    # A fresh address per run, so counts left by other runs (Redis) cannot interfere.
    one.client.environ_base["REMOTE_ADDR"] = two.client.environ_base["REMOTE_ADDR"] = (
        "127." + ".".join(str(b) for b in secrets.token_bytes(3))
    )
    codes = [one.get("/api/v1/partners").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = one.get("/api/v1/partners")
    assert limited.is_json and "Too many requests" in limited.json["message"]
    assert limited.headers.get("Retry-After")
    assert two.get("/api/v1/partners").status_code == 200
    if storage.startswith("redis"):
        import redis

        connection = redis.Redis.from_url(storage)
        keys = connection.keys("*api-token*")
        assert keys
        connection.delete(*keys)


def test_one_budget_per_token_across_the_whole_api(make_app, users):
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="6 per minute")
    with app.app_context():
        token = create_token(db.session.merge(users["staff"]), "a", None)[1]
        db.session.commit()
    client = ApiClient(app, token)
    urls = [f"/api/v1/{kind}" for kind in ("partners", "contacts", "agreements", "projects")]
    urls += ["/api/v1/activities", "/api/v1/openapi.json", "/api/v1/partners/1"]
    codes = [client.get(url).status_code for url in urls]
    # Six requests over six endpoints use up the allowance of six; the seventh is refused.
    assert codes[:6] == [200] * 6 and codes[6] == 429
    assert client.post("/api/v1/contacts", json={}).status_code == 429


def test_errors_under_api_are_json_never_html(api):
    client = api["staff"]
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.is_json
    record = client.get("/api/v1/partners/424242")
    assert record.status_code == 404 and record.json["message"]
    assert client.get("/api/v1/partners/99999999999").status_code == 404
    method = client.open("PUT", "/api/v1/partners/1")
    assert method.status_code == 405 and method.is_json
    assert "PATCH" in method.headers["Allow"]
    outside = client.get("/api/v2/partners")
    assert outside.status_code == 404 and outside.is_json


def test_api_500_is_json_without_internals(make_app, tokens, monkeypatch):
    from crm.api import resources

    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def boom(record):
        raise RuntimeError("secret internals")

    factories.make_partner()
    db.session.commit()
    monkeypatch.setattr(resources.BY_NAME["partners"], "represent", boom)
    response = ApiClient(app, tokens["staff"]).get("/api/v1/partners/1")
    assert response.status_code == 500 and response.is_json
    assert "secret internals" not in response.text


def test_before_the_first_account_the_api_answers_401_not_the_setup_page(client):
    response = client.get("/api/v1/partners")
    assert response.status_code == 401 and response.is_json
    assert client.get("/api/v1/openapi.json").status_code == 200
