"""The partner form: one class for create and edit, with other names and key figures."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from crm.forms import (
    FriendlyDecimal,
    RecordPicker,
    RowForm,
    Rows,
    VersionedForm,
    country_field,
    long_text_field,
    no_control_characters,
    strip_or_none,
    text_field,
)
from crm.partners.models import Partner
from crm.vocab import NAME_KINDS, PARTNER_KINDS, PARTNER_STATUSES, choices


class OtherNameRow(RowForm):
    key_fields = ("name",)
    name = text_field(_l("Other name"), 300, required=True)
    kind = SelectField(_l("Kind of name"), choices=choices(NAME_KINDS), default="alias")


class KeyFigureRow(RowForm):
    key_fields = ("label", "value")
    label = text_field(_l("Figure"), 200, required=True)
    value = FriendlyDecimal(_l("Value"), validators=[InputRequired()])
    unit = text_field(_l("Unit"), 50)
    year = IntegerField(
        _l("Year"),
        validators=[Optional(), NumberRange(min=1800, max=2200)],
    )


def _website(form, field):
    if field.data and not field.data.lower().startswith(("http://", "https://")):
        raise ValidationError(_l("Start the address with http:// or https://"))


class PartnerForm(VersionedForm):
    name_en = text_field(_l("English name"), 300, required=True)
    name_zh = text_field(_l("Chinese name"), 200)
    kind = SelectField(_l("Kind"), choices=choices(PARTNER_KINDS), default="other")
    status = SelectField(_l("Relationship"), choices=choices(PARTNER_STATUSES), default="prospect")
    country = country_field()
    city = text_field(_l("City or region"), 200)
    parent = RecordPicker(
        _l("Parent organisation"),
        model=Partner,
        lookup="partners.lookup",
        description=_l("The body this one sits under, such as a bureau under a city government."),
    )
    tags = StringField(
        _l("Sector tags"),
        validators=[Optional(), Length(max=1000), no_control_characters],
        filters=[strip_or_none],
        description=_l("Separated by commas."),
    )
    website = text_field(_l("Website"), 500, validators_extra=[_website])
    owner = SelectField(_l("Owner"), coerce=int, validators=[Optional()])
    is_own = BooleanField(_l("This is our own organisation (the accelerator)"))
    description = long_text_field(_l("Description"))
    other_names = Rows(OtherNameRow, _l("Other names"))
    figures = Rows(KeyFigureRow, _l("Key figures"))

    def tag_names(self) -> list[str]:
        seen = {}
        for raw in (self.tags.data or "").replace("，", ",").split(","):
            name = " ".join(raw.split())[:80]
            if name:
                seen.setdefault(name.casefold(), name)
        return list(seen.values())
