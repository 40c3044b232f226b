"""Who may use which route, safe redirects, and the headers every response carries.

Every view declares the least role it needs with `@requires(...)`; one `before_request`
hook enforces it, and the test sweep reads the same declarations. A view with no
declaration is refused to everyone, so a forgotten route fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from flask import abort, current_app, request
from flask_login import current_user

from crm.config import ROLE_LEVEL
from crm.extensions import login_manager

PUBLIC = "public"
ACCESS_LEVELS = (PUBLIC, "staff", "manager", "admin")
# Endpoints served by extensions, not by our blueprints.
EXTENSION_ACCESS = {"static": PUBLIC, "bootstrap.static": PUBLIC}


def requires(level: str) -> Callable:
    """Declare the least role a view needs: "public", "staff", "manager" or "admin"."""
    if level not in ACCESS_LEVELS:
        raise ValueError(f"unknown access level {level!r}")

    def mark(view):
        view.required_access = level
        return view

    return mark


def access_for(endpoint: str | None) -> str | None:
    """The access level declared for an endpoint, or None when it declares none."""
    if endpoint is None:
        return None
    if endpoint in EXTENSION_ACCESS:
        return EXTENSION_ACCESS[endpoint]
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "required_access", None)


def may_access(user, level: str) -> bool:
    """Whether `user` (possibly anonymous) may use a route declared at `level`."""
    if level == PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    return ROLE_LEVEL[user.role] >= ROLE_LEVEL[level]


# Blueprints that authenticate their own requests (the API's bearer tokens): blueprint
# name -> a function run before the role check. It may set this request's user from a
# token, or refuse the request; an anonymous request to such a blueprint gets 401, not
# the sign-in page.
REQUEST_AUTHENTICATORS: dict[str, Callable[[], None]] = {}


def enforce_access():
    """before_request: refuse a route to anyone its declaration does not admit."""
    if request.endpoint is None:  # no route matched: let the 404/405 handlers answer
        return None
    level = access_for(request.endpoint)
    if level is None:
        abort(403)
    if level == PUBLIC:
        return None
    authenticate = REQUEST_AUTHENTICATORS.get(request.blueprint)
    if authenticate is not None:
        authenticate()
    if may_access(current_user, level):
        return None
    if not current_user.is_authenticated:
        if authenticate is not None:
            abort(401)
        return login_manager.unauthorized()
    abort(403)


def is_safe_next(target: str | None) -> bool:
    """True only for a local path: one leading '/', no scheme, host, backslash or control.

    The decoded form must pass too, so encoded slashes cannot smuggle in a host.
    """
    if not target or not isinstance(target, str):
        return False
    return _is_local_path(target) and _is_local_path(unquote(target))


def _is_local_path(target: str) -> bool:
    if not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


PUBLIC_ASSETS = {"static", "bootstrap.static", "dashboard.plotly_js"}


def set_security_headers(response):
    """after_request: the headers every response carries."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    # Pages of a signed-in user are never cached; published assets (our static files,
    # Bootstrap, plotly) are the same for everyone and keep their own caching.
    if request.endpoint not in PUBLIC_ASSETS and current_user and current_user.is_authenticated:
        headers["Cache-Control"] = "no-store"
        headers["Vary"] = "Cookie"
    return response
