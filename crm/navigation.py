"""The navigation bar: only what exists, and only what the user may open."""

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.security import access_for, may_access

# (endpoint, label) in display order; entries whose endpoint is not registered are skipped.
NAV = [
    ("main.index", _l("Home")),
    ("dashboard.index", _l("Dashboard")),
    ("dashboard.network", _l("Network")),
    ("partners.index", _l("Partners")),
    ("contacts.index", _l("Contacts")),
    ("agreements.index", _l("Agreements")),
    ("projects.index", _l("Projects")),
    ("activities.index", _l("Activities")),
    ("activities.follow_ups", _l("Follow-ups")),
    ("duplicates.index", _l("Duplicates")),
    ("dataio.imports", _l("Imports")),
    ("admin.users", _l("Users")),
    ("admin.audit_log", _l("Audit log")),
    ("rates.index", _l("Exchange rates")),
]

ROLE_LABELS = {"staff": _l("Staff"), "manager": _l("Manager"), "admin": _l("Admin")}


def nav_items():
    """(endpoint, label, active) for each entry the user may open."""
    items = []
    current = request.endpoint or ""
    exact = any(endpoint == current for endpoint, _ in NAV)
    for endpoint, label in NAV:
        if endpoint not in current_app.view_functions:
            continue
        level = access_for(endpoint)
        if level and may_access(current_user, level):
            same_area = (
                endpoint.endswith(".index") and current.split(".")[0] == endpoint.split(".")[0]
            )
            active = endpoint == current or (not exact and same_area)
            items.append((endpoint, label, active))
    return items


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
