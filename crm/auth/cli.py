"""`flask --app crm user ...`: create and manage accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from crm.auth import operations
from crm.auth.models import ROLE_LEVEL, User, get_by_email
from crm.db import db, reading_only

user_cli = AppGroup("user", help="Create and manage user accounts.")


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
