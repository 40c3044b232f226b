"""Document forms: upload (a new document), a new version, and the details (title, kind,
description) of an existing document."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from crm.documents.filetypes import ACCEPT
from crm.documents.models import DOCUMENT_KINDS
from crm.forms import VersionedForm, long_text_field, text_field
from crm.vocab import choices


def file_field(label):
    return FileField(
        label,
        validators=[FileRequired(_l("Choose a file to upload."))],
        render_kw={"accept": ACCEPT},
    )


class DocumentDetails:
    """The fields a document is described by, shared by upload and edit."""

    title = text_field(
        _l("Title"),
        300,
        description=_l("Leave empty to use the file name."),
    )
    kind = SelectField(_l("Kind of document"), choices=choices(DOCUMENT_KINDS), default="other")
    description = long_text_field(_l("Description"), max_length=5000)


class UploadForm(DocumentDetails, FlaskForm):
    """A new document: its file and how to describe it."""

    file = file_field(_l("File"))


class VersionForm(FlaskForm):
    """A new version of an existing document; the earlier files are kept."""

    file = file_field(_l("New version"))
    note = text_field(_l("What changed"), 500)


class DetailsForm(DocumentDetails, VersionedForm):
    """Edit a document's title, kind and description."""

    title = text_field(_l("Title"), 300, required=True)
