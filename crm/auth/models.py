"""The user account: email sign-in, a role, and a rotating session token."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from crm.config import ROLE_LEVEL, ROLES
from crm.db import TimestampMixin, UTCDateTime, db

MIN_PASSWORD_LENGTH = 12


def new_session_token() -> str:
    """A random token that identifies a sign-in; replacing it ends every old session."""
    return secrets.token_urlsafe(32)


class User(TimestampMixin, UserMixin, db.Model):
    """A member of the accelerator's staff who signs in to the CRM."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("role IN ('staff', 'manager', 'admin')", name="role_known"),
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="staff")
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Flask-Login "alternative token": the session stores this, not the id, so rotating it
    # on logout, password change or deactivation makes every old cookie worthless.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, nullable=False, default=new_session_token
    )
    locale: Mapped[str | None] = mapped_column(String(10))
    # IANA zone name ("Asia/Shanghai"); None until chosen (first sign-in offers the
    # browser's). Every time shown to this user, and the digest hour, is in this zone.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Local hour (0-23) at which this user's daily digest is sent.
    digest_hour: Mapped[int] = mapped_column(Integer, nullable=False, default=8, server_default="8")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        """Hash with scrypt; the whole password is used, however long."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()

    def has_role(self, role: str) -> bool:
        """True when this user's role is `role` or above it."""
        return ROLE_LEVEL[self.role] >= ROLE_LEVEL[role]

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


assert set(ROLE_LEVEL) == set(ROLES)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def get_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def any_user_exists() -> bool:
    return db.session.scalar(select(User.id).limit(1)) is not None
