"""Flask extensions, created unbound and attached in `create_app`."""

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.db import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(get_remote_address)


def trust_proxies(app) -> None:
    """Behind PROXY_FIX proxies, take the client's address and scheme from their headers.

    Each proxy appends the address it saw to X-Forwarded-For; only the last PROXY_FIX
    entries are trusted, so a client cannot choose its address (and its rate limits) by
    sending the header itself. 0 (the default) trusts no header.
    """
    hops = app.config["PROXY_FIX"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


__all__ = [
    "db",
    "migrate",
    "login_manager",
    "csrf",
    "babel",
    "bootstrap",
    "limiter",
    "trust_proxies",
]
