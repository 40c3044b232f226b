"""The navigation bar: only what exists, and only what the user may open."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.security import access_for, may_access

# (endpoint, label) in display order; entries whose endpoint is not registered are skipped.
NAV = [
    ("main.index", _l("Home")),
    ("partners.index", _l("Partners")),
    ("contacts.index", _l("Contacts")),
    ("agreements.index", _l("Agreements")),
    ("projects.index", _l("Projects")),
    ("admin.users", _l("Users")),
]

ROLE_LABELS = {"staff": _l("Staff"), "manager": _l("Manager"), "admin": _l("Admin")}


def nav_items():
    items = []
    for endpoint, label in NAV:
        if endpoint not in current_app.view_functions:
            continue
        level = access_for(endpoint)
        if level and may_access(current_user, level):
            items.append((endpoint, label))
    return items


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
