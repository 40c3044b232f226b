"""How audit entries read on a page: action names, field labels, values."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

ACTIONS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "archive": _l("Archived"),
    "restore": _l("Restored"),
    "merge": _l("Merged"),
    "import": _l("Imported"),
    "import_undo": _l("Import undone"),
    "import_discard": _l("Import discarded"),
    "export": _l("Exported"),
}

LINK_CHANGES = {
    "added": _l("added"),
    "removed": _l("removed"),
    "changed": _l("changed"),
    # A merge: links moved from the merged record, or folded into the same link already here.
    "moved": _l("moved here"),
    "combined": _l("combined with the same link"),
}

FIELDS = {
    "name_en": _l("English name"),
    "name_zh": _l("Chinese name"),
    "name": _l("Name"),
    "title": _l("Title"),
    "title_zh": _l("Chinese title"),
    "kind": _l("Kind"),
    "type": _l("Type"),
    "status": _l("Status"),
    "stage": _l("Stage"),
    "country": _l("Country"),
    "city": _l("City or region"),
    "website": _l("Website"),
    "description": _l("Description"),
    "summary": _l("Summary"),
    "notes": _l("Notes"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "parent_id": _l("Parent organisation"),
    "owner_id": _l("Owner"),
    "is_own": _l("Our organisation"),
    "archived_at": _l("Archived"),
    "other_names": _l("Other names"),
    "figures": _l("Key figures"),
    "tags": _l("Sector tags"),
    "positions": _l("Positions"),
    "parties": _l("Parties"),
    "partners": _l("Partners"),
    "contacts": _l("Contacts"),
    "agreements": _l("Agreements"),
    "projects": _l("Projects"),
    "milestones": _l("Milestones"),
    "indicators": _l("Indicators"),
    "actuals": _l("Actuals"),
    "attendees": _l("Attendees"),
    "staff": _l("Our staff present"),
    "signed_on": _l("Signed on"),
    "signed_at": _l("Signed at"),
    "effective_from": _l("Effective from"),
    "expires_on": _l("Expires on"),
    "auto_renew": _l("Renews automatically"),
    "notice_days": _l("Notice period (days)"),
    "value_amount": _l("Value"),
    "value_currency": _l("Currency"),
    "amends_id": _l("Amends"),
    "amendment_kind": _l("Relation"),
    "start_date": _l("Start"),
    "end_date": _l("End"),
    "budget_amount": _l("Budget"),
    "budget_currency": _l("Currency"),
    "occurred_at": _l("When"),
    "timezone": _l("Time zone"),
    "location": _l("Location"),
    "due_on": _l("Due on"),
    "done_on": _l("Done on"),
    "assignee_id": _l("Assigned to"),
    "role": _l("Role"),
    "value": _l("Value"),
    "target": _l("Target"),
    "merged_from": _l("Merged from"),
    "merged_into_id": _l("Merged into"),
    "related": _l("Also changed"),
    "people": _l("People"),
    "signed": _l("Agreements signed"),
    "activities": _l("Activities"),
    "attended": _l("Activities attended"),
    "follow_ups": _l("Follow-ups"),
    "children": _l("Sub-organisations"),
    "merged_records": _l("Records merged earlier"),
    "documents": _l("Documents"),
    "versions": _l("Versions"),
    "partner_id": _l("Partner"),
    "contact_id": _l("Contact"),
    "agreement_id": _l("Agreement"),
    "project_id": _l("Project"),
}


def audit_action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def link_change_label(kind: str) -> str:
    return str(LINK_CHANGES.get(kind, kind))


def field_label(field: str) -> str:
    return str(FIELDS.get(field, field.replace("_", " ").capitalize()))


def audit_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return str(value.get("label") or f"#{value.get('id')}")
    if value is True:
        return "✓"
    if value is False:
        return "✗"
    return str(value)


def local_time(moment: datetime, zone: str) -> str:
    """A moment shown in the zone it happened in."""
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        local = moment
    return format_datetime(local.replace(tzinfo=None), "medium", rebase=False)


HELPERS = {
    "audit_action_label": audit_action_label,
    "link_change_label": link_change_label,
    "field_label": field_label,
    "audit_value": audit_value,
    "local_time": local_time,
}
