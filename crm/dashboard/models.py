"""The dashboard's cache version: one row counting the committed writes that change the
figures, shared by every worker and host on the database (crm.dashboard.cache)."""

from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from crm.db import db


class DashboardVersion(db.Model):
    """Row 1 holds the version; crm.dashboard.cache bumps it in the transaction of each
    write to a table the dashboard reads, and keys its cached figures by it."""

    __tablename__ = "dashboard_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(nullable=False, default=0)
