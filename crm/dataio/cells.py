"""One cell's worth of conversion, both ways.

Exports turn column values into text (CSV) or typed cells (XLSX); imports turn the text
or typed cells of any spreadsheet back into values, accepting what people really type:
dates as 2021-05-17, 2021/5/17 or 2021年5月17日, vocabulary codes or their English or
Chinese labels, yes/no/是/否.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) are written with a leading apostrophe, and so is a cell that already
starts with an apostrophe followed by one of those, so that reading a CSV file strips
exactly one apostrophe from such cells and gets the value back unchanged. XLSX cells are
written as typed string cells, which spreadsheets never evaluate: nothing to escape.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from crm.vocab import _countries

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CellError(ValueError):
    """A cell that cannot become a value, with the message the user sees."""


def guard_formula(text: str) -> str:
    """Prefix an apostrophe where a spreadsheet would see a formula (CSV only)."""
    if text.startswith(FORMULA_START) or (text[:1] == "'" and text[1:2] in ("'", *FORMULA_START)):
        return "'" + text
    return text


def unguard_formula(text: str) -> str:
    """Undo `guard_formula` (CSV only)."""
    if text[:1] == "'" and text[1:2] in ("'", *FORMULA_START):
        return text[1:]
    return text


def fold(text) -> str:
    """A comparison key: width, case and spacing folded (headers, labels, names)."""
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return " ".join(text.replace("_", " ").split())


def cell_text(value) -> str:
    """Any cell value as stripped text ("" for empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if value == value else ""
    return str(value).strip()


def text_value(value, max_length: int) -> str | None:
    text = cell_text(value)
    if not text:
        return None
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise CellError(_l("Remove the control characters from this text."))
    if len(text) > max_length:
        raise CellError(_l("Longer than %(num)d characters.", num=max_length))
    return text


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)


def date_value(value) -> date | None:
    """A date from a date cell or text written year first; anything else is refused."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", cell_text(value)).replace(" ", "")
    if text.endswith("00:00:00"):
        text = text[: -len("00:00:00")]
    for pattern in _DATE_PATTERNS:
        if match := pattern.match(text):
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise CellError(_l("“%(value)s” is not a date: write it as YYYY-MM-DD.", value=text[:40]))


def decimal_value(value, *, places: int = 2, negative: bool = False) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CellError(_l("Enter an amount such as 1250000.00."))
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = unicodedata.normalize("NFKC", cell_text(value)).replace(",", "").replace(" ", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(_l("Enter an amount such as 1250000.00.")) from None
    if not number.is_finite() or abs(number) >= Decimal("1e16"):
        raise CellError(_l("Enter an amount such as 1250000.00."))
    if number < 0 and not negative:
        raise CellError(_l("The amount cannot be negative."))
    if number != number.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN"):
        raise CellError(_l("Use at most two decimals."))
    return number


def int_value(value, *, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    number = decimal_value(value, places=0, negative=True) if not isinstance(value, int) else value
    if number is None or not low <= number <= high:
        raise CellError(_l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high))
    return int(number)


_YES = {"yes", "y", "true", "1", "是", "对", "✓", "x"}
_NO = {"no", "n", "false", "0", "否", "不", "✗"}


def bool_value(value) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = fold(cell_text(value))
    if text in _YES or text == fold(_l("yes")):
        return True
    if text in _NO or text == fold(_l("no")):
        return False
    raise CellError(_l("Write yes or no."))


_FORMS: dict[tuple[int, str], frozenset[str]] = {}


def label_forms(label) -> frozenset[str]:
    """A lazy label folded, as it reads in English and in Simplified Chinese.

    Labels are module constants; their forms are worked out once per catalog language
    (the catalog is loaded once per process).
    """
    key = (id(label), str(label))
    forms = _FORMS.get(key)
    if forms is None:
        found = {fold(label)}
        for locale in ("en", "zh_Hans"):
            with force_locale(locale):
                found.add(fold(str(label)))
        forms = _FORMS[key] = frozenset(found)
    return forms


def _vocab_forms(vocabulary) -> dict[str, str]:
    """Each folded form (code, label in either language) -> its code; the first code a
    form belongs to wins, as when the vocabulary is read in order. Kept per vocabulary
    and current locale (a label's form in the current language is one of its forms)."""
    from flask_babel import get_locale

    key = (id(vocabulary), str(get_locale()))
    forms = _VOCAB_FORMS.get(key)
    if forms is None or forms[0] is not vocabulary:
        found: dict[str, str] = {}
        for code, label in vocabulary.items():
            found.setdefault(fold(code), code)
            for form in label_forms(label):
                found.setdefault(form, code)
        forms = _VOCAB_FORMS[key] = (vocabulary, found)
    return forms[1]


_VOCAB_FORMS: dict = {}


def vocab_value(value, vocabulary) -> str | None:
    """A vocabulary code from its code or its label in either language."""
    text = fold(cell_text(value))
    if not text:
        return None
    code = _vocab_forms(vocabulary).get(text)
    if code is not None:
        return code
    known = ", ".join(str(label) for label in vocabulary.values())
    raise CellError(
        _l("“%(value)s” is not one of: %(known)s.", value=cell_text(value)[:40], known=known)
    )


def country_value(value) -> str | None:
    """An ISO 3166 alpha-2 code from the code or the country's English or Chinese name."""
    text = fold(cell_text(value))
    if not text:
        return None
    if len(text) == 2 and text.isascii() and text.isalpha():
        code = text.upper()
        if code in _countries("en"):
            return code
    for locale in ("en", "zh_Hans"):
        for code, name in _countries(locale).items():
            if fold(name) == text:
                return code
    raise CellError(_l("“%(value)s” is not a country we know.", value=cell_text(value)[:40]))


def split_list(value) -> list[str]:
    """Items of a list cell: separated by ; or ； or a line break."""
    text = cell_text(value)
    parts = re.split(r"[;；\n]", text)
    return [" ".join(p.split()) for p in parts if p.strip()]


def split_roles(value, roles, default: str) -> list[tuple[str, str]]:
    """ "Party A [host]; Party B" -> [("Party A", "host"), ("Party B", default)].

    A role may also follow in parentheses when it is a known role word: "Party A (host)".
    Other parentheses belong to the name ("Ekoo (Shenzhen) Co., Ltd").
    """
    pairs = []
    for item in split_list(value):
        name, role = item, default
        match = re.match(r"^(.*?)\s*[\[【(（]([^\[\]【】()（）]+)[\]】)）]$", item)
        if match:
            try:
                code = vocab_value(match.group(2), roles)
            except CellError:
                code = None
                if item.endswith(("]", "】")):
                    raise
            if code:
                name, role = match.group(1).strip(), code
        pairs.append((name, role))
    return pairs
