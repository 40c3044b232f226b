"""Writes on documents: attach a new document to a record, add a version, edit details,
archive and restore. Each works inside the request's transaction; the view commits once.

The audit trail is written by crm.audit.trail from the ORM's change tracking: an upload is
the document's "create" entry (with version 1 added), a new version is an update adding
that version, and archive / restore are recognised from `archived_at`.
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _

from crm.db import db
from crm.documents import filetypes, storage
from crm.documents.models import Document, DocumentVersion


class DocumentError(Exception):
    """Refusals to show at the form's fields: {field name: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


_RAW_FILENAME = re.compile(r'(?:^|;)\s*filename="((?:[^"\\]|\\.)*)"', re.IGNORECASE)


def sent_filename(upload) -> str:
    """The file name as the browser sent it, path included.

    Browsers put the name in a quoted string with `"` escaped as %22 and backslashes left
    as they are (old ones send a whole Windows path). Werkzeug reads backslashes as
    escapes, turning C:\\x\\y.pdf into C:xy.pdf; the raw header keeps the separators so
    that the cleaning can drop the path.
    """
    parsed = getattr(upload, "filename", None) or ""
    headers = getattr(upload, "headers", None)
    raw = headers.get("Content-Disposition", "") if headers is not None else ""
    match = _RAW_FILENAME.search(raw)
    if match:
        # An escaped quote is an escape (Windows names cannot hold quotes); any other
        # backslash is a path separator.
        value = match.group(1).replace('\\"', '"')
        if "\\" in value:
            return value
    return parsed


def receive(staged: storage.StagedFile, upload) -> tuple[str, filetypes.FileType]:
    """Take in the uploaded file: size limit, then its content against its name.

    Returns the cleaned original name and the type; DocumentError at the "file" field.
    """
    name = filetypes.clean_filename(sent_filename(upload))
    if not name:
        raise DocumentError({"file": _("Choose a file to upload.")})
    try:
        # A name we would refuse anyway is refused before the body is copied to disk.
        filetypes.check_name(name)
        staged.receive(upload.stream, storage.max_bytes())
        kind = filetypes.check(staged.part, name)
    except filetypes.Refused as exc:
        raise DocumentError({"file": exc.message}) from None
    except OSError:
        current_app.logger.exception("could not store an uploaded document")
        raise DocumentError(
            {
                "file": _(
                    "The file could not be stored. Try again; if it keeps failing, tell "
                    "the administrator."
                )
            }
        ) from None
    return name, kind


def _version(staged, number: int, name: str, kind: filetypes.FileType, actor, note=None):
    return DocumentVersion(
        number=number,
        stored_name=staged.publish(),
        original_name=name,
        file_type=kind.code,
        content_type=kind.content_type,
        size=staged.size,
        sha256=staged.sha256,
        note=note,
        uploaded_by_id=actor.id if actor is not None else None,
    )


def _refuse_if_archived(record, document=None) -> None:
    if record.archived_at is not None:
        raise DocumentError(
            {"file": _("This record is archived: restore it before adding documents.")}
        )
    if document is not None and document.archived_at is not None:
        raise DocumentError(
            {"file": _("This document is archived: restore it before adding a version.")}
        )


def attach_document(owner_kind: str, record, form, actor, staged) -> Document:
    """A new document on `record` with the uploaded file as version 1."""
    _refuse_if_archived(record)
    name, kind = receive(staged, form.file.data)
    document = Document(
        title=form.title.data or _stem(name),
        kind=form.kind.data,
        description=form.description.data,
        current_number=1,
    )
    document.attach_to(owner_kind, record)
    document.stamp(actor)
    document.versions = [_version(staged, 1, name, kind, actor)]
    db.session.add(document)
    db.session.flush()
    return document


def add_version(document: Document, form, actor, staged) -> DocumentVersion:
    """The uploaded file becomes the document's newest version; older ones are kept.

    The caller loaded `document` locked (FOR UPDATE on PostgreSQL; SQLite writes are
    serialised already), so two uploads at once get consecutive numbers.
    """
    _refuse_if_archived(document.record, document)
    name, kind = receive(staged, form.file.data)
    number = document.current_number + 1
    version = _version(staged, number, name, kind, actor, note=form.note.data)
    document.versions.append(version)
    document.current_number = number
    document.stamp(actor)
    db.session.flush()
    return version


def update_details(document: Document, form, actor) -> None:
    document.title = form.title.data
    document.kind = form.kind.data
    document.description = form.description.data
    document.stamp(actor)


def _stem(name: str) -> str:
    stem, dot, _ext = name.rpartition(".")
    return (stem if dot and stem else name)[:300]
