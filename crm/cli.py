"""Command-line tools: `flask --app crm user ...` and `flask --app crm check-deploy`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import select

from crm.auth import operations
from crm.auth.models import ROLE_LEVEL, User, get_by_email
from crm.db import db, reading_only

user_cli = click.Group("user", help="Create and manage user accounts.")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _find(email: str) -> User:
    user = get_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


def _commit_or_fail(action) -> None:
    try:
        action()
    except operations.AccountError as exc:
        db.session.rollback()
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from exc
    db.session.commit()


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(list(ROLE_LEVEL)), default="staff", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email, name, role, password_stdin):
    """Create a user; the password is asked twice unless --password-stdin is given."""
    password = _read_password(password_stdin)
    _commit_or_fail(
        lambda: operations.create_user(email=email, name=name, role=role, password=password)
    )
    click.echo(f"created {email} ({role})")


@user_cli.command("list")
def list_users():
    """List every account with its role and state."""
    with reading_only():
        for user in db.session.scalars(select(User).order_by(User.email)):
            state = "active" if user.active else "deactivated"
            click.echo(f"{user.email}\t{user.name}\t{user.role}\t{state}")
        db.session.rollback()


@user_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(list(ROLE_LEVEL)))
def set_role(email, role):
    """Give a user another role."""
    user = _find(email)
    _commit_or_fail(lambda: operations.set_role(user, role))
    click.echo(f"{email} is now {role}")


@user_cli.command("deactivate")
@click.argument("email")
def deactivate(email):
    """Stop a user signing in; open sessions end at their next request."""
    user = _find(email)
    _commit_or_fail(lambda: operations.deactivate(user))
    click.echo(f"{email} is deactivated")


@user_cli.command("reactivate")
@click.argument("email")
def reactivate(email):
    """Let a deactivated user sign in again."""
    user = _find(email)
    _commit_or_fail(lambda: operations.reactivate(user))
    click.echo(f"{email} is active")


@user_cli.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def reset_password(email, password_stdin):
    """Set a new password for a user and end their sessions."""
    user = _find(email)
    password = _read_password(password_stdin)
    _commit_or_fail(lambda: operations.set_password(user, password))
    click.echo(f"password of {email} is reset")


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

    from crm import demo as demo_data

    _migrate_for_demo()
    started = time.perf_counter()
    if scale:
        counts = demo_data.add_synthetic(scale, agreements=agreements)
        db.session.commit()
        from crm.schema import optimize_statistics

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
    from crm.schema import upgrade_if_needed

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
    from crm.schema import SchemaBehind, require_current_schema

    try:
        require_current_schema()
    except SchemaBehind as exc:
        raise click.ClickException(str(exc)) from exc


def _checking_schema_first(command: click.Command) -> None:
    """Run the read-only schema check when `command` runs (not when help is shown)."""
    invoke = command.invoke

    def checked_invoke(ctx: click.Context):
        _require_current_schema()
        return invoke(ctx)

    command.invoke = checked_invoke


def register(app: Flask) -> None:
    from crm.backup import backup_command, restore_command
    from crm.duplicates.cli import duplicates_cli
    from crm.i18n_cli import translate_cli

    app.cli.add_command(user_cli)
    app.cli.add_command(duplicates_cli)
    app.cli.add_command(check_deploy)
    app.cli.add_command(demo)
    app.cli.add_command(translate_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    for name, command in app.cli.commands.items():
        if name not in UNCHECKED_COMMANDS:
            _checking_schema_first(command)
