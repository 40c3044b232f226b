"""Forms of the import steps: upload, what to do with each kind of row."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField

from crm.dataio.jobs import CHOICE_LABELS, CHOICES, PARTNER_CHOICES
from crm.vocab import RECORD_KINDS, options

IMPORT_KINDS = ("partner", "contact", "agreement", "project")


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the rows are"),
        choices=lambda: options([(k, RECORD_KINDS[k]) for k in IMPORT_KINDS]),
        default="partner",
    )
    file = FileField(
        _l("Spreadsheet"),
        validators=[FileRequired(_l("Choose a file to upload."))],
        description=_l(
            "XLSX, or CSV in UTF-8 (with or without BOM) or GB18030, separated by commas, "
            "semicolons or tabs. The first row holds the column names."
        ),
    )


def _radio(kind, label):
    return RadioField(
        label,
        choices=options([(code, CHOICE_LABELS[code]) for code in CHOICES[kind]]),
        default=CHOICES[kind][0],
    )


class ChoicesForm(FlaskForm):
    new = _radio("new", _l("Rows that match no record"))
    match = _radio("match", _l("Rows that match one record"))
    several = _radio("several", _l("Rows that match several records"))
    partners = RadioField(
        _l("Organisations named in a row that do not exist yet"),
        choices=options([(code, CHOICE_LABELS[code]) for code in PARTNER_CHOICES]),
        default="create",
    )
