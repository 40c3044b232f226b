"""The command line: every command registered in one place (`register`).

Each package that has commands owns an `AppGroup` in its `cli.py` (`user`, `documents`,
`duplicates`, `translate`); the deployment commands live here (`check-deploy`, `demo`)
and in crm.backup (`backup`, `restore`). Commands other than those that need no current
schema check it first, read-only, and name the upgrade command when it is behind.
"""

from __future__ import annotations

import click
from flask import Flask, current_app

from crm import demo as demo_data
from crm.auth.cli import user_cli
from crm.backup import backup_command, restore_command
from crm.db import db
from crm.documents.cli import documents_cli
from crm.duplicates.cli import duplicates_cli
from crm.i18n_cli import translate_cli
from crm.schema import SchemaBehind, optimize_statistics, require_current_schema, upgrade_if_needed

WEAK_SECRETS = {"dev", "secret", "changeme", "change-me", "development", "test", "password"}


def deploy_problems(app: Flask) -> list[str]:
    """Every setting that is unsafe for a production deployment."""
    cfg = app.config
    problems = []
    # The flask command resets DEBUG from FLASK_DEBUG; gunicorn would run with the configured one.
    if cfg.get("DEBUG") or app.extensions.get("crm_configured_debug"):
        problems.append("DEBUG is on: tracebacks and the debugger would be exposed.")
    if cfg.get("TESTING"):
        problems.append("TESTING is on.")
    key = cfg.get("SECRET_KEY") or ""
    if len(key) < 32 or key.lower() in WEAK_SECRETS or len(set(key)) < 10:
        problems.append("SECRET_KEY is missing or weak: use at least 32 random characters.")
    if not cfg.get("SESSION_COOKIE_SECURE") or not cfg.get("REMEMBER_COOKIE_SECURE"):
        problems.append("Cookies are sent over plain HTTP: set CRM_SECURE_COOKIES=1.")
    if not cfg.get("SESSION_COOKIE_HTTPONLY"):
        problems.append("SESSION_COOKIE_HTTPONLY is off.")
    if (cfg.get("SESSION_COOKIE_SAMESITE") or "").lower() not in {"lax", "strict"}:
        problems.append("SESSION_COOKIE_SAMESITE should be Lax or Strict.")
    if not cfg.get("WTF_CSRF_ENABLED", True):
        problems.append("CSRF protection is off.")
    if not cfg.get("MAX_CONTENT_LENGTH"):
        problems.append("MAX_CONTENT_LENGTH is not set: uploads are unbounded.")
    workers = int(cfg.get("WORKERS") or 1)
    storage = cfg.get("RATELIMIT_STORAGE_URI") or "memory://"
    if storage.startswith("memory"):
        problems.append(
            "The rate-limit store is per process (memory://): each worker counts on its own. "
            "Set CRM_RATELIMIT_STORAGE_URI=redis://..."
        )
    if not cfg.get("RATELIMIT_ENABLED", True):
        problems.append("Rate limiting is off.")
    uri = cfg.get("SQLALCHEMY_DATABASE_URI", "")
    if uri.startswith("sqlite") and workers > 1:
        with app.app_context():
            mode = db.session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
            db.session.rollback()
        if str(mode).lower() != "wal":
            problems.append(
                f"SQLite serves {workers} workers without WAL (journal_mode={mode}): "
                "writers would block readers. Use PostgreSQL or WAL."
            )
    return problems


def deploy_notices(app: Flask) -> list[str]:
    """Settings that are right for some deployments and wrong for others: worth a look."""
    notices = []
    if not app.config.get("PROXY_FIX"):
        notices.append(
            "CRM_PROXY_FIX is 0: each request's own address is taken as the client's. Behind "
            "a proxy every client would share the proxy's address, and its sign-in and API "
            "limits: set CRM_PROXY_FIX to the number of proxies in front of the app."
        )
    return notices


@click.command("check-deploy")
def check_deploy():
    """List every unsafe production setting; exit non-zero when there is one."""
    app = current_app._get_current_object()
    problems = deploy_problems(app)
    for notice in deploy_notices(app):
        click.echo(f"NOTICE: {notice}")
    for problem in problems:
        click.echo(f"UNSAFE: {problem}")
    if problems:
        raise SystemExit(1)
    click.echo("OK: no unsafe production setting found.")


@click.command("demo")
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=None,
    help="Add this many synthetic partners (with proportional contacts, agreements "
    "and projects) instead of the seed story.",
)
@click.option(
    "--agreements",
    type=click.IntRange(min=1),
    default=None,
    help="With --scale: this many synthetic agreements (default: half the partners).",
)
def demo(scale, agreements):
    """Load the seed story as real records (or, with --scale N, synthetic bulk data)."""
    import time

    _migrate_for_demo()
    started = time.perf_counter()
    if scale:
        counts = demo_data.add_synthetic(scale, agreements=agreements)
        db.session.commit()

        optimize_statistics()
        made = ", ".join(f"{v:,} {k}" for k, v in counts.items())
        click.echo(f"added {made} in {time.perf_counter() - started:.1f}s")
        return
    if demo_data.story_loaded():
        click.echo("the seed story is already loaded (our organisation exists); nothing done")
        return
    demo_data.load_story()
    db.session.commit()
    click.echo(
        "loaded the seed story: UKIIC, Taizhou bodies and officials, two agreements, two projects"
    )


def _migrate_for_demo() -> None:
    """`demo` is for a fresh instance: it brings SQLite's schema up to date first."""
    app = current_app._get_current_object()
    if app.config.get("TESTING"):
        return

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and app.config["AUTO_UPGRADE"]:
        upgrade_if_needed()
    _require_current_schema()  # PostgreSQL is never upgraded behind the operator's back


# Commands that need no current schema: `demo` migrates first, `db` is Alembic's own,
# check-deploy reads settings (typically before the upgrade), and a backup (typically taken
# just before an upgrade) or a restore works at any revision; translate reads only files.
UNCHECKED_COMMANDS = {"db", "demo", "check-deploy", "backup", "restore", "translate"}


def _require_current_schema() -> None:
    """Stop a command on a database older than the code, naming the upgrade command."""
    app = current_app._get_current_object()
    if app.config.get("TESTING"):  # test databases are made by create_all
        return

    try:
        require_current_schema()
    except SchemaBehind as exc:
        raise click.ClickException(str(exc)) from exc


def _checking_schema_first(command: click.Command) -> None:
    """Run the read-only schema check when `command` runs (not when help is shown).

    The commands are module-level objects shared by every app of the process (tests make
    hundreds): each is wrapped once, not once per app.
    """
    if getattr(command, "crm_checks_schema", False):
        return
    invoke = command.invoke

    def checked_invoke(ctx: click.Context):
        _require_current_schema()
        return invoke(ctx)

    command.invoke = checked_invoke
    command.crm_checks_schema = True


def register(app: Flask) -> None:
    """Every command, in one place: a group per package, plus the deployment commands."""

    for command in (
        user_cli,
        documents_cli,
        duplicates_cli,
        translate_cli,
        demo,
        check_deploy,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)
    for name, command in app.cli.commands.items():
        if name not in UNCHECKED_COMMANDS:
            _checking_schema_first(command)
