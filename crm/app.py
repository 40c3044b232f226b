"""create_app(): defaults -> instance/config.py -> CRM_* environment -> overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

import crm.models  # noqa: F401  (every table registered before Alembic looks)
from crm import availability, cli, i18n, main
from crm import config as config_module
from crm.activities import views as activity_views
from crm.admin import views as admin_views
from crm.agreements import views as agreement_views
from crm.api import settings as api_settings
from crm.api import views as api_views
from crm.api.errors import handle_http_error
from crm.audit.display import HELPERS
from crm.auth import views as auth_views
from crm.auth.models import User, any_user_exists
from crm.auth.setup import announce_setup_code
from crm.availability import CRMFlask, database_unavailable
from crm.config import LANGUAGES
from crm.contacts import views as contact_views
from crm.dashboard import views as dashboard_views
from crm.dataio import views as dataio_views
from crm.db import configure_sqlite, db, reading_only
from crm.documents import views as document_views
from crm.duplicates import views as duplicate_views
from crm.extensions import babel, bootstrap, csrf, limiter, login_manager, migrate, trust_proxies
from crm.feeds import views as feed_views
from crm.hooks import install_write_hooks
from crm.i18n import select_locale
from crm.listing import select_options
from crm.logs import configure_logging
from crm.navigation import nav_items, role_label
from crm.partners import views as partner_views
from crm.projects import views as project_views
from crm.rates import views as rate_views
from crm.schema import (
    UPGRADE_HINT,
    SchemaBehind,
    require_current_schema,
    schema_is_current,
    upgrade_if_needed,
)
from crm.search import views as search_views
from crm.security import enforce_access, set_security_headers
from crm.vocab import country_name, vocab_label

ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app. `overrides` win over every other layer (tests use them)."""
    overrides = dict(overrides or {})
    instance_path = (
        overrides.pop("INSTANCE_PATH", None)
        or os.environ.get("CRM_INSTANCE_PATH")
        or ROOT / "instance"
    )
    app = CRMFlask(
        __name__,
        instance_path=str(Path(instance_path).resolve()),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    base = (
        config_module.Production
        if os.environ.get("CRM_ENV") == "production" or overrides.get("ENV_NAME") == "production"
        else config_module.Defaults
    )
    app.config.from_object(base)
    app.config.from_pyfile("config.py", silent=True)
    try:
        config_module.load_environment(app.config)
        app.config.update(overrides)
        config_module.validate(app.config)
    except config_module.ConfigError as exc:
        config_module.stop_command_line(exc)
        raise
    # The flask command resets DEBUG from FLASK_DEBUG later; check-deploy judges this one.
    app.extensions["crm_configured_debug"] = bool(app.config.get("DEBUG"))
    _complete_config(app)

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_commands(app)
    prepare_database(app)
    return app


def _complete_config(app: Flask) -> None:
    """Fill what has no safe static default: the secret key and the SQLite path."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret(Path(app.instance_path) / SECRET_FILE)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = Path(app.instance_path) / "crm.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://") or uri.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; accept the URLs hosting providers hand out.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if is_sqlite(app):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def load_or_create_secret(path: Path) -> str:
    """Read the secret key from `path`, generating it once with mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def is_sqlite(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def register_extensions(app: Flask) -> None:
    install_write_hooks()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "crm" / "translations"),
    )
    bootstrap.init_app(app)
    trust_proxies(app)
    limiter.init_app(app)
    if is_sqlite(app):
        with app.app_context():
            configure_sqlite(db.engine, app.config["SQLITE_IMMEDIATE_OUTSIDE_REQUESTS"])


@login_manager.user_loader
def _load_user(token: str):
    from sqlalchemy import select

    # Only an active user's current token is honoured: a rotated or deactivated one is dead.
    return db.session.scalar(select(User).where(User.session_token == token, User.active.is_(True)))


def register_blueprints(app: Flask) -> None:
    for module in (
        main,
        auth_views,
        admin_views,
        i18n,
        partner_views,
        contact_views,
        agreement_views,
        project_views,
        activity_views,
        dashboard_views,
        search_views,
        duplicate_views,
        dataio_views,
        rate_views,
        document_views,
        api_views,
        api_settings,
        feed_views,
    ):
        app.register_blueprint(module.bp)


def register_request_hooks(app: Flask) -> None:
    first_run_open = {"auth.setup", "i18n.set_language", "static", "bootstrap.static"}

    @app.before_request
    def lead_to_setup():
        # Until the first account exists every page leads to the setup page. Once one
        # exists it always will (accounts are deactivated, never deleted), so remember it.
        if app.extensions.get("crm_has_users") or request.endpoint in first_run_open:
            return None
        if request.path.startswith("/api/"):  # the API answers for itself (401)
            return None
        if request.endpoint is None:
            return None
        if any_user_exists():
            app.extensions["crm_has_users"] = True
            return None
        return redirect(url_for("auth.setup"))

    app.before_request(enforce_access)
    app.after_request(set_security_headers)

    app.jinja_env.globals["select_options"] = select_options  # for the list macros

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        return {
            **HELPERS,
            "vocab_label": vocab_label,
            "country_name": country_name,
            "languages": LANGUAGES,
            "current_locale": str(get_locale()),
            "nav_items": nav_items,
            "role_label": role_label,
        }


def register_errorhandlers(app: Flask) -> None:
    titles = {
        400: lambda: _("The request could not be understood"),
        403: lambda: _("You may not open this page"),
        404: lambda: _("This page does not exist"),
        405: lambda: _("This action is not allowed here"),
        413: lambda: _("The upload is too large"),
        429: lambda: _("Too many attempts: wait a minute and try again"),
        500: lambda: _("Something went wrong on our side"),
    }

    def render_error(error):
        if request.path.startswith("/api/"):  # no such API route or method: JSON too
            return handle_http_error(error)
        code = getattr(error, "code", 500) or 500
        if code == 500:
            db.session.rollback()
        g.error_code = code
        detail = None
        if isinstance(error, CSRFError):
            detail = _("The form was stale or incomplete. Go back, reload it and try again.")
        return render_template(
            "errors/error.html", code=code, title=titles[code](), detail=detail
        ), code

    for code in titles:
        app.register_error_handler(code, render_error)
    app.register_error_handler(CSRFError, render_error)
    register_database_recovery(app)


def register_database_recovery(app: Flask) -> None:
    """503 with Retry-After when the database is gone (reads are run again first)."""

    availability.register(app)


def register_commands(app: Flask) -> None:
    cli.register(app)


def prepare_database(app: Flask) -> None:
    """When starting to serve, SQLite upgrades itself if behind; PostgreSQL is checked.

    Only a server start (gunicorn via crm.wsgi, `flask run`) migrates and prints the setup
    code. Other commands (`--help`, `user ...`) touch nothing here, so they never wait
    for another process's write lock: `demo` migrates when it runs, `db` is Alembic's own,
    and the rest check the schema read-only when they run (crm.cli).
    """
    if app.config.get("TESTING") or not _starting_to_serve():
        return

    with app.app_context():
        try:
            if is_sqlite(app) and app.config["AUTO_UPGRADE"]:
                upgrade_if_needed()
            try:
                require_current_schema()
            except SchemaBehind as exc:
                app.logger.error("%s", exc)
                _refuse_requests_until_upgraded(app)
                return
            with reading_only():
                if not any_user_exists():
                    announce_setup_code(app)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            # A worker started while the database is down (a restart, a failover) keeps
            # running: pages answer 503 until it is back, then the schema is checked once.
            app.logger.warning("the database is not answering at start: %s", exc)
            _refuse_requests_until_upgraded(app)
        finally:
            db.session.remove()


def _starting_to_serve() -> bool:
    """True outside the flask command (a WSGI server, a script) and under `flask run`."""
    import click

    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"


def _refuse_requests_until_upgraded(app: Flask) -> None:
    """Serve nothing but an explanation while the schema is behind the code."""

    @app.before_request
    def schema_gate():
        if app.extensions.get("crm_schema_ok"):
            return None
        if schema_is_current():
            app.extensions["crm_schema_ok"] = True
            return None
        return render_template(
            "errors/error.html",
            code=503,
            title=_("The database needs an upgrade"),
            detail=_("Ask the administrator to run: %(cmd)s", cmd=UPGRADE_HINT),
        ), 503

    app.before_request_funcs.setdefault(None, []).insert(0, app.before_request_funcs[None].pop())
