"""Partnership CRM: partners, agreements, projects and what they produce."""

from crm.app import create_app

__all__ = ["create_app"]
