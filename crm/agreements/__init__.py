"""Agreements: many parties in named roles, with signatories, dates and value."""
