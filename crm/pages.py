"""Pages that compose several kinds of record: the layer above the record packages.

A record's page shows the record (from its own package's query) with its timeline
(crm.activities) and documents (crm.documents); assembling them here keeps the record
packages from importing each other for the sake of a page.
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from crm.documents.queries import documents_panel
from crm.forms import EmptyForm
from crm.records import can_archive, can_restore
from crm.timeline import timeline


def record_page(template: str, kind: str, record, **context):
    """A record's page: what its query gave (`context`), its timeline and documents, and
    the actions the user may take on it."""
    return render_template(
        template,
        **context,
        tl=timeline(kind, record.id, request.args),
        record_kind=kind,
        record_id=record.id,
        action_form=EmptyForm(),
        may_archive=can_archive(current_user, record),
        may_restore=can_restore(current_user, record),
        documents=documents_panel(kind, record),
    )
