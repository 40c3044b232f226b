"""The fixed vocabularies of the records, with their labels in both languages.

Each is an ordered mapping code -> label. Codes are stored (and checked by the database);
labels are shown.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

PARTNER_KINDS = {
    "government": _l("Government body"),
    "company": _l("Company"),
    "university": _l("University"),
    "research": _l("Research institute"),
    "education": _l("Education group"),
    "investor": _l("Investor"),
    "association": _l("Industry association"),
    "accelerator": _l("Accelerator or incubator"),
    "other": _l("Other"),
}

PARTNER_STATUSES = {
    "prospect": _l("Prospect"),
    "active": _l("Active"),
    "dormant": _l("Dormant"),
    "ended": _l("Ended"),
}

NAME_KINDS = {
    "alias": _l("Alias"),
    "abbreviation": _l("Abbreviation"),
    "translation": _l("Translation"),
    "former": _l("Former name"),
}

AGREEMENT_TYPES = {
    "cooperation": _l("Cooperation agreement"),
    "mou": _l("Memorandum of understanding"),
    "framework": _l("Framework agreement"),
    "loi": _l("Letter of intent"),
    "contract": _l("Contract"),
    "licence": _l("Licence"),
    "other": _l("Other"),
}

AGREEMENT_STAGES = {
    "draft": _l("Draft"),
    "negotiation": _l("In negotiation"),
    "signed": _l("Signed"),
    "terminated": _l("Terminated"),
}

# What a signed agreement is, following from its dates.
AGREEMENT_STATES = {
    "draft": _l("Draft"),
    "negotiation": _l("In negotiation"),
    "pending": _l("Signed, not yet in force"),
    "in_force": _l("In force"),
    "expired": _l("Expired"),
    "terminated": _l("Terminated"),
}

PARTY_ROLES = {
    "party": _l("Party"),
    "host": _l("Host"),
    "operator": _l("Operator"),
    "funder": _l("Funder"),
    "witness": _l("Witness"),
    "other": _l("Other role"),
}

AMENDMENT_KINDS = {
    "amends": _l("Amends"),
    "supplements": _l("Supplements"),
    "renews": _l("Renews"),
}

PROJECT_STATUSES = {
    "planned": _l("Planned"),
    "active": _l("Active"),
    "on_hold": _l("On hold"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}

PROJECT_ROLES = {
    "lead": _l("Lead"),
    "host": _l("Host"),
    "funder": _l("Funder"),
    "participant": _l("Participant"),
}

ACTIVITY_KINDS = {
    "meeting": _l("Meeting"),
    "call": _l("Call"),
    "email": _l("Email"),
    "visit": _l("Visit"),
    "event": _l("Event"),
    "note": _l("Note"),
}

ATTENDEE_ROLES = {
    "presided": _l("Presided"),
    "spoke": _l("Spoke"),
    "attended": _l("Attended"),
    "signed": _l("Signed"),
}

RECORD_KINDS = {
    "partner": _l("Partner"),
    "contact": _l("Contact"),
    "agreement": _l("Agreement"),
    "project": _l("Project"),
    "activity": _l("Activity"),
    "follow_up": _l("Follow-up"),
    "import": _l("Import"),
    "export": _l("Export"),
    "exchange_rate": _l("Exchange rate"),
    "document": _l("Document"),
}

CURRENCIES = ("CNY", "GBP", "USD", "EUR", "HKD", "JPY", "SGD", "CHF", "AUD", "CAD")


def check_in(column: str, vocabulary) -> str:
    """SQL for a CHECK constraint keeping `column` within a vocabulary's codes."""
    codes = ", ".join(f"'{code}'" for code in vocabulary)
    return f"{column} IN ({codes})"


def choices(vocabulary, blank=None) -> list[SelectChoice]:
    """Options for a SelectField (or a list filter) from a vocabulary."""
    items = [SelectChoice(code, label) for code, label in vocabulary.items()]
    return [SelectChoice("", blank)] + items if blank is not None else items


def options(pairs) -> list[SelectChoice]:
    """Options for a SelectField from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def label(vocabulary, code) -> str:
    return str(vocabulary.get(code, code or ""))


@lru_cache(maxsize=8)
def _countries(locale_name: str) -> dict[str, str]:
    names = Locale.parse(locale_name).territories
    codes = Locale.parse("en").territories
    return {
        code: names.get(code, codes[code])
        for code in sorted(codes, key=lambda c: names.get(c, codes[c]))
        if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO"}
    }


def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 code -> country name in the current language, sorted by name."""
    try:
        locale = str(get_locale() or "en")
    except RuntimeError:
        locale = "en"
    return _countries(locale)


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return countries().get(code, code)


VOCABULARIES = {
    "partner_kinds": PARTNER_KINDS,
    "partner_statuses": PARTNER_STATUSES,
    "name_kinds": NAME_KINDS,
    "agreement_types": AGREEMENT_TYPES,
    "agreement_stages": AGREEMENT_STAGES,
    "agreement_states": AGREEMENT_STATES,
    "party_roles": PARTY_ROLES,
    "amendment_kinds": AMENDMENT_KINDS,
    "project_statuses": PROJECT_STATUSES,
    "project_roles": PROJECT_ROLES,
    "activity_kinds": ACTIVITY_KINDS,
    "attendee_roles": ATTENDEE_ROLES,
    "record_kinds": RECORD_KINDS,
}


@lru_cache(maxsize=64)
def _translated(vocabulary_name: str, locale_name: str) -> dict:
    """A vocabulary's labels translated into one language (computed once per language:
    a list page asks for two labels on each of its rows)."""
    return {code: str(text) for code, text in VOCABULARIES[vocabulary_name].items()}


def vocab_label(vocabulary_name: str, code) -> str:
    """Template helper: the label of `code` in the named vocabulary."""
    try:
        locale = str(get_locale() or "en")
    except RuntimeError:
        return label(VOCABULARIES[vocabulary_name], code)
    found = _translated(vocabulary_name, locale).get(code)
    return found if found is not None else str(code or "")
