"""Imports every model module so the metadata (and Alembic) sees every table."""

from crm.auth.models import User  # noqa: F401
