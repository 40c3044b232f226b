"""The agreement form: one class for create and edit, with its parties and signatories."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.forms import (
    FriendlyDateField,
    MoneyField,
    RecordPicker,
    RowForm,
    Rows,
    VersionedForm,
    currency_field,
    long_text_field,
    money_pair_errors,
    text_field,
)
from crm.partners.models import Partner
from crm.vocab import AGREEMENT_STAGES, AGREEMENT_TYPES, AMENDMENT_KINDS, PARTY_ROLES, choices


def _picked(form, field):
    # Required, unless the picker has already said what is wrong with the input.
    if field.data is None and not field.errors:
        raise ValidationError(_l("Pick the organisation."))


class PartyRow(RowForm):
    # A row with only a signatory typed in is not blank: its input is never dropped
    # silently, it asks for the organisation instead.
    key_fields = ("partner", "signatory", "signatory_title")
    partner = RecordPicker(
        _l("Organisation"),
        validators=[_picked],
        model=Partner,
        lookup="partners.lookup",
    )
    role = SelectField(_l("Role"), choices=choices(PARTY_ROLES), default="party")
    signatory = RecordPicker(_l("Signatory"), model=Contact, lookup="contacts.lookup")
    signatory_title = text_field(_l("Signatory's title"), 300)

    def is_blank(self) -> bool:
        # An id that is not a number is input too: it deserves an error, not oblivion.
        for name in ("partner", "signatory"):
            if getattr(self[name], "raw_id", ""):
                return False
        return super().is_blank()


class AgreementForm(VersionedForm):
    title = text_field(_l("Title"), 500, required=True)
    title_zh = text_field(_l("Chinese title"), 300)
    type = SelectField(_l("Type"), choices=choices(AGREEMENT_TYPES), default="cooperation")
    stage = SelectField(_l("Stage"), choices=choices(AGREEMENT_STAGES), default="draft")
    signed_on = FriendlyDateField(_l("Signed on"))
    signed_at = text_field(_l("Signed at (place)"), 300)
    effective_from = FriendlyDateField(_l("Effective from"))
    expires_on = FriendlyDateField(_l("Expires on"))
    auto_renew = BooleanField(_l("Renews automatically"))
    notice_days = IntegerField(
        _l("Notice period (days)"),
        validators=[
            Optional(),
            NumberRange(min=0, max=3650, message=_l("Enter a number of days from 0 to 3650.")),
        ],
        description=_l("How long before the end of a term notice must be given."),
    )
    value_amount = MoneyField(_l("Value"))
    value_currency = currency_field()
    summary = long_text_field(_l("Summary"))
    owner = SelectField(_l("Owner"), coerce=int, validators=[Optional()])
    amends = RecordPicker(
        _l("Amends or supplements"),
        model=Agreement,
        lookup="agreements.lookup",
        description=_l("The earlier agreement this one changes, adds to or renews."),
    )
    amendment_kind = SelectField(
        _l("How it changes it"),
        choices=choices(AMENDMENT_KINDS, blank="—"),
        default="",
        validators=[Optional()],
    )
    parties = Rows(PartyRow, _l("Parties"), min_entries=2)

    def validate(self, extra_validators=None) -> bool:
        """Field checks first, then the rules that compare fields with each other."""
        valid = super().validate(extra_validators)
        money_pair_errors(self.value_amount, self.value_currency)
        start, end = self.effective_from.data, self.expires_on.data
        if start and end and end < start:
            self.expires_on.errors.append(_l("The expiry cannot be before the start."))
        if self.stage.data == "signed" and not self.signed_on.data and not self.signed_on.errors:
            self.signed_on.errors.append(_l("Enter the date it was signed."))
        if self.amends.data is not None and not self.amendment_kind.data:
            self.amendment_kind.errors.append(
                _l("Say whether it amends, supplements or renews the earlier agreement.")
            )
        if self.amendment_kind.data and self.amends.data is None and not self.amends.errors:
            self.amends.errors.append(_l("Pick the earlier agreement."))
        self._check_parties()
        return valid and not self.errors

    def _check_parties(self) -> None:
        rows = self.parties.filled()
        pairs = [(row.partner.data, row.role.data) for row in rows if row.partner.data]
        if len(set(pairs)) != len(pairs):
            # A plain string: the rows macro tells list-wide messages from row errors.
            self.parties.errors.append(
                str(_l("The same organisation is listed twice in the same role."))
            )
        if self.stage.data == "signed" and len({partner for partner, _ in pairs}) < 2:
            self.stage.errors.append(
                _l("A signed agreement needs at least two organisations as parties.")
            )
