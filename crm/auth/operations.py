"""Writes on user accounts. None of them commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l

from crm.auth.models import MIN_PASSWORD_LENGTH, ROLE_LEVEL, User, get_by_email, normalize_email
from crm.db import db

# What else dies with a deactivated account: the API's tokens and the calendar feed. Those
# tables belong to doors above this package, so `crm.hooks.install_write_hooks` registers
# them here (`on_deactivate`) rather than this module importing them.
_ON_DEACTIVATE: list = []


def on_deactivate(revoke) -> None:
    """Call `revoke(user)` whenever an account is deactivated (registered once)."""
    if revoke not in _ON_DEACTIVATE:
        _ON_DEACTIVATE.append(revoke)


class AccountError(Exception):
    """Raised with a message per field when an account change is refused."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def password_problem(password: str) -> str | None:
    """Why a password is refused, or None when it is acceptable."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    return None


def create_user(*, email: str, name: str, role: str, password: str) -> User:
    """Add an active user; refuses a taken email, an unknown role or a short password."""
    errors: dict[str, str] = {}
    email = normalize_email(email)
    if not email or "@" not in email:
        errors["email"] = str(_l("Enter an email address."))
    elif get_by_email(email) is not None:
        errors["email"] = str(_l("An account with this email already exists."))
    if not (name or "").strip():
        errors["name"] = str(_l("Enter a name."))
    if role not in ROLE_LEVEL:
        errors["role"] = str(_l("Choose staff, manager or admin."))
    if problem := password_problem(password):
        errors["password"] = problem
    if errors:
        raise AccountError(errors)
    user = User(email=email, name=name.strip(), role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password and end every session the user had."""
    if problem := password_problem(password):
        raise AccountError({"password": problem})
    user.set_password(password)
    user.rotate_session_token()


def set_role(user: User, role: str) -> None:
    if role not in ROLE_LEVEL:
        raise AccountError({"role": str(_l("Choose staff, manager or admin."))})
    if user.role == "admin" and role != "admin":
        _refuse_if_last_admin(user)
    user.role = role


def deactivate(user: User) -> None:
    """Stop the user signing in; an open session dies at its next request.

    Their API tokens and calendar feed are revoked for good: reactivating the account
    brings back none of them, so a token or feed URL left somewhere stays dead.
    """
    if user.role == "admin":
        _refuse_if_last_admin(user)
    user.active = False
    user.rotate_session_token()
    if not _ON_DEACTIVATE:  # never deactivate without revoking what the user left behind
        raise RuntimeError("crm.hooks.install_write_hooks() was not called")
    for revoke in _ON_DEACTIVATE:
        revoke(user)


def reactivate(user: User) -> None:
    """Let the user sign in again; they make new API tokens and a new feed URL if needed."""
    user.active = True


def record_login(user: User) -> None:
    user.last_login_at = datetime.now(UTC)


def _refuse_if_last_admin(user: User) -> None:
    from sqlalchemy import func, select

    others = db.session.scalar(
        select(func.count(User.id)).where(
            User.role == "admin", User.active.is_(True), User.id != user.id
        )
    )
    if not others:
        raise AccountError({"role": str(_l("The last active administrator cannot be removed."))})
