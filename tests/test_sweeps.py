"""Sweeps over every route: permissions, CSRF, security headers, safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from crm.security import (
    PUBLIC_ASSETS,
    REQUEST_AUTHENTICATORS,
    access_for,
    is_safe_next,
    may_access,
)
from tests.factories import PASSWORD
from tests.sweeps import CASE_COUNTS, STATE_CHANGING, routes

ROLES = (None, "staff", "manager", "admin")


class Anonymous:
    is_authenticated = False


def request(client, method, url, data=None):
    if method == "GET":
        return closed(client.get(url))
    data = {"csrf_token": client.csrf_token(), **(data or {})}
    return closed(client.open(url, method=method, data=data))


def closed(response):
    """Read the body and close the response (static files hold an open file)."""
    response.get_data()
    response.close()
    return response


def test_every_route_declares_who_may_use_it(app):
    missing = [r.endpoint for r, _, _ in routes(app) if access_for_app(app, r.endpoint) is None]
    assert missing == [], f"routes without @requires(...): {missing}"


def access_for_app(app, endpoint):
    with app.test_request_context():
        return access_for(endpoint)


def test_permission_sweep(app, users):
    cases = 0
    failures = []
    for rule, url, methods in routes(app):
        level = access_for_app(app, rule.endpoint)
        for method in methods:
            for role in ROLES:
                client = app.test_client()
                if role:
                    client.login_as(users[role])
                response = request(client, method, url)
                cases += 1
                location = response.headers.get("Location", "")
                refused = response.status_code == 403 or location.startswith("/login?next=")
                # Blueprints that authenticate by token (the API) answer 401, not the page.
                token_auth = rule.endpoint.split(".")[0] in REQUEST_AUTHENTICATORS
                refused = refused or (token_auth and response.status_code == 401)
                allowed = may_access(users[role] if role else Anonymous(), level)
                if response.status_code >= 500:
                    failures.append(f"{method} {url} as {role}: {response.status_code}")
                elif allowed and refused:
                    failures.append(f"{method} {url} as {role}: refused but declared {level}")
                elif not allowed and not refused:
                    failures.append(f"{method} {url} as {role}: let through, declared {level}")
                elif not allowed and role and response.status_code != 403:
                    failures.append(f"{method} {url} as {role}: expected 403")
    CASE_COUNTS["permission sweep (rule x method x role)"] += cases
    assert cases >= 4 * len(routes(app))
    assert failures == []


def test_csrf_sweep_rejects_missing_and_wrong_tokens(app, users):
    cases = 0
    failures = []
    for _rule, url, methods in routes(app):
        for method in set(methods) & STATE_CHANGING:
            client = app.test_client().login_as(users["admin"])
            for label, data in (("missing", {}), ("wrong", {"csrf_token": "forged.token.x"})):
                response = closed(client.open(url, method=method, data=data))
                cases += 1
                if response.status_code != 400 or "stale or incomplete" not in response.text:
                    failures.append(f"{method} {url} with {label} token: {response.status_code}")
    CASE_COUNTS["CSRF sweep (state-changing rule x missing/wrong token)"] += cases
    assert cases > 0
    assert failures == []


def test_security_headers_sweep(app, users):
    cases = 0
    failures = []
    for rule, url, methods in routes(app):
        if "GET" not in methods:
            continue
        for role in (None, "admin"):
            client = app.test_client()
            if role:
                client.login_as(users[role])
            response = closed(client.get(url))
            cases += 1
            headers = response.headers
            csp = headers.get("Content-Security-Policy", "")
            script_src = next((p for p in csp.split(";") if p.strip().startswith("script-src")), "")
            problems = []
            if "frame-ancestors 'none'" not in csp or script_src.strip() != "script-src 'self'":
                problems.append("CSP")
            if headers.get("X-Content-Type-Options") != "nosniff":
                problems.append("nosniff")
            if not headers.get("Referrer-Policy"):
                problems.append("Referrer-Policy")
            signed_in_page = role and rule.endpoint not in PUBLIC_ASSETS
            if signed_in_page and "no-store" not in headers.get("Cache-Control", ""):
                problems.append("Cache-Control")
            if problems:
                failures.append(f"GET {url} as {role}: {problems}")
    CASE_COUNTS["security headers sweep (GET rule x anonymous/signed in)"] += cases
    assert cases > 0
    assert failures == []


HOSTILE_NEXT = [
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "http://evil.example",
    "https://evil.example/",
    "http:evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n//evil.example",
    " //evil.example",
    "\x00//evil.example",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
]


def assert_local(location: str) -> None:
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and "evil" not in location, location


def test_hostile_next_never_redirects_off_site(app, users):
    cases = 0
    for target in HOSTILE_NEXT:
        assert not is_safe_next(target), target
        # After a real sign-in.
        client = app.test_client()
        response = client.post_form(
            "/login", {"email": users["staff"].email, "password": PASSWORD, "next": target}
        )
        assert response.status_code == 302
        assert_local(response.headers["Location"])
        # When already signed in and sent to /login?next=...
        response = client.get("/login", query_string={"next": target})
        assert_local(response.headers["Location"])
        # After switching language.
        response = client.post_form("/language", {"lang": "en", "next": target})
        assert_local(response.headers["Location"])
        cases += 3
    CASE_COUNTS["hostile next sweep (value x login/already-in/language)"] += cases
    assert cases == 3 * len(HOSTILE_NEXT)


@pytest.mark.parametrize("target", ["/", "/admin/users", "/account/password?x=1"])
def test_local_next_is_followed(client, users, target):
    response = client.post_form(
        "/login", {"email": users["staff"].email, "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == target
