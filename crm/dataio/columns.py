"""The columns of a kind of record, and the cell parsers they share.

A column has a header (its label, in English or Chinese, and the usual spreadsheet words
for it), how a cell becomes a value (with a message for a bad cell) and how a record's
value is written out. Exports write a kind's columns under their labels; imports recognise
the same words, so an exported file imports back onto the same records unchanged. Each
record package declares its own columns (crm/<package>/columns.py) from these pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import g
from flask_babel import lazy_gettext as _l

from crm.dataio import cells
from crm.dataio.cells import CellError, fold
from crm.listing import parse_id
from crm.vocab import CURRENCIES


@dataclass(frozen=True)
class Column:
    """A column of a kind: its header, the words that mean it, how to read and write it."""

    key: str
    label: object
    aliases: tuple[str, ...] = ()
    parse: Callable | None = None
    export: Callable | None = None

    def header_forms(self) -> set[str]:
        return cells.label_forms(self.label) | {fold(a) for a in self.aliases} | {fold(self.key)}


def text_cell(n):
    return lambda v: cells.text_value(v, n)


def vocab_cell(vocabulary):
    return lambda v: cells.vocab_value(v, vocabulary)


def vocab_label(vocabulary):
    """A code's label in the request's language, translated once per request and code
    (an export of a million rows would otherwise translate every cell)."""

    def label(code):
        if not code:
            return None
        known = g.setdefault("vocabulary_labels", {})
        key = (id(vocabulary), code)
        if key not in known:
            known[key] = str(vocabulary.get(code, code))
        return known[key]

    return label


def currency_cell(value):
    text = cells.cell_text(value).upper()
    if not text:
        return None
    if text not in CURRENCIES:
        raise CellError(
            _l(
                "“%(value)s” is not one of: %(known)s.",
                value=text[:10],
                known=", ".join(CURRENCIES),
            )
        )
    return text


def email_cell(value):
    text = cells.text_value(value, 254)
    if text is None:
        return None
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise CellError(_l("“%(value)s” is not an email address.", value=text[:60])) from None
    return text.lower()


def id_cell(value):
    text = cells.cell_text(value)
    if not text:
        return None
    try:
        return parse_id(text)
    except ValueError:
        raise CellError(_l("“%(value)s” is not an ID.", value=text[:20])) from None


def names_cell(value):
    return [name[:300] for name in cells.split_list(value)] or None


def roles_cell(vocabulary, default):
    def parse(value):
        pairs = cells.split_roles(value, vocabulary, default)
        return [(name[:300], role) for name, role in pairs] or None

    return parse


def with_roles(links, vocabulary):
    return "; ".join(f"{link.partner.name_en} [{vocabulary[link.role]}]" for link in links) or None


def owner_email(record):
    return record.owner.email if record.owner else None


ID = Column("id", _l("ID"), ("id", "编号", "record id"), id_cell, lambda r: r.id)
OWNER = Column("owner", _l("Owner"), ("负责人", "owner email"), text_cell(254), owner_email)
