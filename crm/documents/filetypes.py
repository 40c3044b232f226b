"""What a file is, judged by its content: the allow-list of document types.

A file is accepted only when its bytes are one of the allowed formats and its name ends in
an extension of that same format. So an .exe or a web page renamed .pdf, or a plain zip
renamed .docx, is refused. Office Open XML files (.docx, .xlsx, .pptx) are zips whose
[Content_Types].xml declares the main part of the right application, and that part is
there; legacy Word and Excel files are OLE2 compound files holding the right stream.
Files carrying macros (VBA or Excel 4.0 sheets) and PDFs carrying scripts or attached
files are refused (crm.documents.active). Text must be UTF-8 without control characters.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePath

import olefile
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.documents import active


@dataclass(frozen=True)
class FileType:
    code: str
    label: object
    content_type: str
    extensions: tuple[str, ...]


TYPES = {
    t.code: t
    for t in (
        FileType("pdf", _l("PDF document"), "application/pdf", ("pdf",)),
        FileType("png", _l("PNG image"), "image/png", ("png",)),
        FileType("jpeg", _l("JPEG image"), "image/jpeg", ("jpg", "jpeg")),
        FileType("tiff", _l("TIFF image"), "image/tiff", ("tif", "tiff")),
        FileType(
            "docx",
            _l("Word document"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ("docx",),
        ),
        FileType(
            "xlsx",
            _l("Excel workbook"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ("xlsx",),
        ),
        FileType(
            "pptx",
            _l("PowerPoint presentation"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ("pptx",),
        ),
        FileType("doc", _l("Word 97-2003 document"), "application/msword", ("doc",)),
        FileType("xls", _l("Excel 97-2003 workbook"), "application/vnd.ms-excel", ("xls",)),
        FileType("text", _l("plain text file"), "text/plain; charset=utf-8", ("txt",)),
    )
}
BY_EXTENSION = {ext: t for t in TYPES.values() for ext in t.extensions}
ACCEPT = ",".join(f".{ext}" for ext in BY_EXTENSION)

# Not accepted, but named in the refusal so the user knows why.
MACROS = "macros"
MARKUP = "markup"
ACTIVE = "active"  # a PDF with scripts, launch actions or attached files

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": MACROS,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": MACROS,
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": MACROS,
}
CONTENT_TYPES_LIMIT = 1024 * 1024
_OVERRIDE = re.compile(rb"<(?:\w+:)?Override\b[^>]*>")
_ATTRIBUTE = re.compile(rb'\b(PartName|ContentType)\s*=\s*["\']([^"\']*)["\']')
MARKUP_STARTS = ("<!doctype", "<html", "<head", "<body", "<script", "<svg", "<iframe", "<?xml")
# Control characters other than tab, line feed, form feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
CHUNK = 1024 * 1024


# Formats recognised by their first bytes, so that one renamed .csv or .txt is named in
# the refusal rather than read as text (a PDF decodes as GB18030 "text" often enough).
SIGNATURES = (
    (b"%PDF-", _l("PDF document")),
    (b"\x89PNG\r\n\x1a\n", _l("PNG image")),
    (b"\xff\xd8\xff", _l("JPEG image")),
    (b"GIF87a", _l("GIF image")),
    (b"GIF89a", _l("GIF image")),
    (b"II*\x00", _l("TIFF image")),
    (b"MM\x00*", _l("TIFF image")),
    (b"PK\x03\x04", _l("zip archive or Office file")),
    (OLE2_MAGIC, _l("Office 97-2003 file")),
    (b"\x1f\x8b", _l("compressed (gzip) file")),
    (b"7z\xbc\xaf\x27\x1c", _l("compressed (7z) file")),
    (b"Rar!\x1a\x07", _l("compressed (RAR) file")),
    (b"\x7fELF", _l("program")),
    (b"{\\rtf", _l("RTF document")),
)
# Share of a text sample that may be characters no text file holds (controls, private-use
# or unassigned code points, decoding replacements) before it is judged not to be text.
NOT_TEXT_SHARE = 0.01


def signature(head: bytes):
    """The label of a known non-text format these first bytes start, or None."""
    for magic, label in SIGNATURES:
        if head.startswith(magic):
            return label
    return None


# Controls other than tab, line feed, vertical tab, form feed and carriage return;
# decoding replacements; private-use characters (GB18030 maps stray byte pairs there).
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff\U000f0000-\U0010ffff]")


def mostly_not_text(text: str) -> bool:
    """Whether decoded text holds more than a trace of what text files never do: a binary
    file that happened to decode (GB18030 accepts most byte pairs). A regular expression,
    so a 50 MB file is judged at C speed."""
    if not text:
        return False
    return len(_NOT_TEXT.findall(text)) > NOT_TEXT_SHARE * len(text)


class Refused(Exception):
    """The file is not accepted; the message says why, for the form field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def allowed_list() -> str:
    return ", ".join(f".{ext}" for ext in BY_EXTENSION)


def extension(filename: str) -> str:
    suffix = PurePath(filename).suffix
    return suffix[1:].lower() if suffix else ""


def identify(path: Path) -> str | None:
    """The type code of the file's content, MACROS, MARKUP, or None when not accepted."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"%PDF-"):
        return ACTIVE if active.pdf_is_active(path) else "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"PK\x03\x04"):
        return _office_open_xml(path)
    if head.startswith(OLE2_MAGIC):
        return _ole2(path)
    return _text(path)


def _office_open_xml(path: Path) -> str | None:
    """docx / xlsx / pptx by the main part their [Content_Types].xml declares."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return MACROS
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > CONTENT_TYPES_LIMIT:
                return None
            declared = archive.read(info)
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        return None
    except (NotImplementedError, RuntimeError):  # unknown compression, encrypted entries
        return None
    if active.ooxml_declares_macros(declared):
        return MACROS
    found = None
    for element in _OVERRIDE.findall(declared):
        attributes = {
            k.decode(): v.decode("utf-8", "replace") for k, v in _ATTRIBUTE.findall(element)
        }
        kind = OOXML_MAIN.get(attributes.get("ContentType", "").strip())
        if kind is None or attributes.get("PartName", "").lstrip("/") not in names:
            continue
        if kind == MACROS:
            return MACROS
        found = found or kind
    if found and active.office_has_macros(path):
        return MACROS
    return found


def _ole2(path: Path) -> str | None:
    """Legacy .doc / .xls: an OLE2 compound file with a WordDocument or Workbook stream."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            if any(ole.exists(name) for name in ("Macros", "_VBA_PROJECT_CUR", "_VBA_PROJECT")):
                return MACROS
            if ole.exists("WordDocument"):
                found = "doc"
            elif ole.exists("Workbook") or ole.exists("Book"):
                found = "xls"
            else:
                return None
    except Exception:  # noqa: BLE001 - any parse failure means "not a document we accept"
        return None
    # VBA stored elsewhere, or Excel 4.0 (XLM) macro sheets, which live in the workbook.
    return MACROS if active.office_has_macros(path) else found


def _text(path: Path) -> str | None:
    """UTF-8 text (a BOM allowed) without NUL or other control characters; not markup."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    start = ""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                text = decoder.decode(chunk)
                if _CONTROL.search(text):
                    return None
                if len(start) < 64:
                    start += text[:64]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if start.lstrip().lower().startswith(MARKUP_STARTS):
        return MARKUP
    return "text"


def check_name(filename: str) -> FileType:
    """The type a file name promises by its extension, or Refused when it is not accepted."""
    ext = extension(filename)
    expected = BY_EXTENSION.get(ext)
    if not ext:
        raise Refused(
            _(
                "The file name needs an extension such as .pdf. Accepted: %(allowed)s.",
                allowed=allowed_list(),
            )
        )
    if expected is None:
        raise Refused(
            _(
                "Files ending in .%(ext)s are not accepted. Accepted: %(allowed)s.",
                ext=ext,
                allowed=allowed_list(),
            )
        )
    return expected


def check(path: Path, filename: str) -> FileType:
    """The accepted type of a received file, or Refused with a message for the user."""
    expected = check_name(filename)
    ext = extension(filename)
    found = identify(path)
    if found == expected.code:
        return expected
    if found == MACROS:
        raise Refused(
            _(
                "Files with macros are not accepted. Save it without macros (for example "
                "as .docx or .xlsx) and upload it again."
            )
        )
    if found in TYPES:
        actual = TYPES[found]
        raise Refused(
            _(
                "The name ends in .%(ext)s but the content is of another type "
                "(%(actual)s). Rename it to .%(right)s and upload it again.",
                ext=ext,
                actual=actual.label,
                right=actual.extensions[0],
            )
        )
    if found == ACTIVE:
        raise Refused(
            _(
                "PDF files with scripts, launch actions or attached files are not accepted. "
                "Print it to a new PDF and upload it again."
            )
        )
    if found == MARKUP:
        raise Refused(
            _(
                "This file is a web page or other markup, not a %(kind)s: it is not accepted.",
                kind=expected.label,
            )
        )
    raise Refused(
        _(
            "The content of this file is not a %(kind)s, although its name ends in "
            ".%(ext)s. It may be damaged, or another kind of file renamed.",
            kind=expected.label,
            ext=ext,
        )
    )


_PATH_SEPARATORS = re.compile(r"[\\/]")
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)
NAME_LIMIT = 200


def clean_filename(raw: str | None) -> str:
    """A safe bare file name from what the browser sent, kept only as data.

    Any path is dropped (`../../etc/passwd` -> `passwd`, `C:\\x\\y.pdf` -> `y.pdf`); control,
    format (bidi) and reserved characters go; Chinese and other letters stay.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = _PATH_SEPARATORS.split(name)[-1]
    name = _SPACES.sub(" ", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"))
    name = _FORBIDDEN.sub("_", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem, ext = stem.rstrip(" ."), ext.strip()
    if _RESERVED.match(stem):
        stem = "_" + stem
    ext = ext[:16]
    room = NAME_LIMIT - (len(ext) + 1 if ext else 0)
    stem = stem[:room].rstrip(" .")
    return f"{stem}.{ext}" if ext and stem else (stem or ext)
