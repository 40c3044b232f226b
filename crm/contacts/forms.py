"""The contact form: one person, any number of positions held at once or over time."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField
from wtforms.validators import Email, Length, Optional, ValidationError

from crm.forms import (
    FriendlyDateField,
    RecordPicker,
    RowForm,
    Rows,
    VersionedForm,
    long_text_field,
    strip_or_none,
    text_field,
)
from crm.partners.models import Partner
from crm.vocab import NAME_KINDS, choices


class PositionRow(RowForm):
    key_fields = ("partner", "title", "start_date", "end_date")
    partner = RecordPicker(_l("Organisation"), model=Partner, lookup="partners.lookup")
    title = text_field(_l("Title"), 300)
    start_date = FriendlyDateField(_l("From"))
    end_date = FriendlyDateField(_l("To"))

    def validate_partner(self, field):
        if field.data is None:
            raise ValidationError(_l("A position needs an organisation."))

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end cannot be before the start."))


class ContactNameRow(RowForm):
    key_fields = ("name",)
    name = text_field(_l("Other name"), 200, required=True)
    kind = SelectField(_l("Kind of name"), choices=choices(NAME_KINDS), default="alias")


class ContactForm(VersionedForm):
    name = text_field(_l("Name"), 200, required=True)
    name_zh = text_field(_l("Chinese name"), 100)
    email = EmailField(
        _l("Email"),
        validators=[Optional(), Length(max=254), Email(check_deliverability=False)],
        filters=[strip_or_none],
    )
    phone = text_field(_l("Phone"), 50)
    owner = SelectField(_l("Owner"), coerce=int, validators=[Optional()])
    notes = long_text_field(_l("Notes"))
    positions = Rows(PositionRow, _l("Positions"))
    other_names = Rows(ContactNameRow, _l("Other names"))

    def validate_other_names(self, field):
        seen = set()
        for entry in field.entries:
            row = entry.form
            if row.is_blank():
                continue
            folded = (row.name.data or "").casefold()
            if folded in seen:
                # A plain string: the rows macro shows list-wide messages above the rows.
                raise ValidationError(str(_l("The same other name is listed twice.")))
            seen.add(folded)
