"""Reads on documents: a record's documents for its page, one document with its versions,
one version for a download. Each in a fixed number of statements."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.db import db
from crm.documents.forms import UploadForm
from crm.documents.models import OWNER_KINDS, Document, DocumentVersion
from crm.listing import MAX_ID
from crm.partners.models import Partner
from crm.projects.models import Project
from crm.records import load_or_404

PANEL_LIMIT = 100

RECORD_ENDPOINTS = {
    "partner": ("partners.detail", "partner_id"),
    "contact": ("contacts.detail", "contact_id"),
    "agreement": ("agreements.detail", "agreement_id"),
    "project": ("projects.detail", "project_id"),
}


def record_model(kind: str):
    return {"partner": Partner, "contact": Contact, "agreement": Agreement, "project": Project}[
        kind
    ]


def owner_column(kind: str):
    if kind not in OWNER_KINDS:
        raise ValueError(kind)
    return getattr(Document, f"{kind}_id")


@dataclass
class Panel:
    """What a record page's Documents section shows."""

    kind: str
    record: object
    live: list[Document] = field(default_factory=list)
    archived: list[Document] = field(default_factory=list)
    more: bool = False
    form: object = None


def documents_panel(kind: str, record) -> Panel:
    """A record's documents with their newest version and its uploader: one statement."""

    rows = db.session.scalars(
        select(Document)
        .where(owner_column(kind) == record.id)
        .options(joinedload(Document.current).joinedload(DocumentVersion.uploaded_by))
        .order_by(Document.id.desc())
        .limit(PANEL_LIMIT + 1)
    ).all()
    panel = Panel(kind=kind, record=record, more=len(rows) > PANEL_LIMIT)
    for document in rows[:PANEL_LIMIT]:
        # The record is at hand: no statement per row to learn whether it is archived.
        set_committed_value(document, kind, record)
        target = panel.live if document.archived_at is None else panel.archived
        target.append(document)
    if record.archived_at is None:
        panel.form = UploadForm(formdata=None)
    return panel


def load_document(document_id: int, *, for_update: bool = False, with_versions: bool = False):
    """The document (404 when unknown) with its record; locked for a write when asked."""
    if not 0 < document_id <= MAX_ID:
        abort(404)
    query = select(Document).where(Document.id == document_id)
    if with_versions:
        query = query.options(
            selectinload(Document.versions).joinedload(DocumentVersion.uploaded_by)
        )
    if for_update:
        query = query.with_for_update(of=Document)
    document = db.session.scalar(query.options(*_record_loads()))
    if document is None:
        abort(404)
    return document


def load_version(version_id: int) -> DocumentVersion:
    if not 0 < version_id <= MAX_ID:
        abort(404)
    version = db.session.scalar(
        select(DocumentVersion)
        .where(DocumentVersion.id == version_id)
        .options(joinedload(DocumentVersion.document).options(*_record_loads()))
    )
    if version is None:
        abort(404)
    return version


def load_record(kind: str, record_id: int):
    return load_or_404(record_model(kind), record_id)


def _record_loads():
    return [
        joinedload(Document.partner),
        joinedload(Document.contact),
        joinedload(Document.agreement),
        joinedload(Document.project),
    ]
