"""ApiToken: a personal API token. Only its SHA-256 is stored; the token is shown once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import UTCDateTime, db, utcnow


class ApiToken(db.Model):
    """A token a user made in their settings to call the API as themselves.

    It carries its user's role and permissions at the moment of each request, so a role
    change applies at once and a deactivated user's tokens stop working. Revoked tokens
    stay (with `revoked_at`) so the settings page can tell what happened to them.
    """

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    # hex SHA-256 of the whole token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # The first characters of the token, so its owner can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired()
