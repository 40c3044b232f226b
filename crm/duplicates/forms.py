"""The side-by-side merge form, and the picker that chooses the record to merge with."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from crm.contacts.models import Contact
from crm.duplicates.merge import BOTH_ALLOWED, fields_for
from crm.forms import RecordPicker
from crm.partners.models import Partner

SIDES = [SelectChoice("a", "a"), SelectChoice("b", "b")]


def merge_form(kind: str):
    """A form class for merging two records of `kind`: the survivor, then a choice per field
    ("a" or "b", the two records as shown left and right; "both" for long texts)."""

    class MergeForm(FlaskForm):
        survivor = RadioField(_l("Keep"), choices=SIDES, validators=[InputRequired()])
        version_a = HiddenField()
        version_b = HiddenField()
        step = HiddenField()

        def versions(self) -> tuple[int | None, int | None]:
            def number(field):
                try:
                    return int(field.data)
                except (TypeError, ValueError):
                    return None

            return number(self.version_a), number(self.version_b)

        def pick(self, field: str):
            return self[f"pick_{field}"]

    for name in fields_for(kind):
        choices = SIDES + ([SelectChoice("both", "both")] if name in BOTH_ALLOWED else [])
        setattr(
            MergeForm, f"pick_{name}", RadioField(name, choices=choices, validators=[Optional()])
        )
    return MergeForm


def pick_form(kind: str):
    """A GET form with one picker: the other record to merge with."""

    model, lookup = (
        (Partner, "partners.lookup") if kind == "partner" else (Contact, "contacts.lookup")
    )

    class PickForm(FlaskForm):
        class Meta:
            csrf = False

        other = RecordPicker(_l("Merge with"), model=model, lookup=lookup)

    return PickForm
