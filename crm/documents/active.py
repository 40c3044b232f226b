"""Active content in documents: macros in Office files, scripts and attachments in PDFs.

Judged with maintained parsers rather than our own reading of the formats:
- Office (OLE2 .doc/.xls and OOXML .docx/.xlsx/.pptx): oletools' `VBA_Parser`, which
  finds VBA projects wherever they are stored and Excel 4.0 (XLM) macro sheets; for a
  legacy workbook its BIFF reader (the one olevba itself runs) lists the sheets even when
  the file lacks Excel's class id (olevba then does not take it for a workbook). OOXML
  macro sheets are declared in [Content_Types].xml.
- PDF: pypdf reads the document catalog (/Names /JavaScript and /EmbeddedFiles,
  /OpenAction, /AA), each page's /AA and its annotations' actions and attachments. A raw
  scan for the names /JavaScript, /JS, /Launch and /EmbeddedFile (with #xx escapes
  undone, as pdfid does) also covers files pypdf cannot parse.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

# oletools still calls pyparsing's camelCase names, which warn on import and use.
_QUIET = (DeprecationWarning, PendingDeprecationWarning, SyntaxWarning)


def _vba_parser():
    with warnings.catch_warnings():
        for category in _QUIET:
            warnings.simplefilter("ignore", category)
        from oletools.olevba import VBA_Parser
    # olevba logs parse trouble at ERROR on its own logger; it is a verdict here.
    logging.getLogger("olevba").setLevel(logging.CRITICAL)
    return VBA_Parser


def office_has_macros(path: Path) -> bool:
    """Whether an OLE2 or OOXML file holds VBA or XLM macros (unreadable: True)."""
    VBA_Parser = _vba_parser()
    with warnings.catch_warnings():
        for category in _QUIET:
            warnings.simplefilter("ignore", category)
        try:
            parser = VBA_Parser(str(path))
        except Exception:  # noqa: BLE001 - not an Office file oletools can read
            return False
        try:
            if parser.detect_vba_macros() or parser.detect_xlm_macros():
                return True
            return _biff_macro_sheet(parser)
        except Exception:  # noqa: BLE001 - a file built to break the parser is refused
            return True
        finally:
            parser.close()


MACRO_SHEET_KINDS = ("Excel 4.0 macro sheet", "Visual Basic module")


def _biff_macro_sheet(parser) -> bool:
    """A legacy workbook's sheet list holds an Excel 4.0 macro sheet."""
    ole = parser.ole_file
    if ole is None:
        return False
    from oletools.thirdparty.oledump.plugin_biff import cBIFF

    for name in ("Workbook", "Book"):
        if ole.exists(name):
            data = ole.openstream(name).read()
            sheets = cBIFF(name=[name], stream=data, options="-o BOUNDSHEET").Analyze()
            # Excel 4.0 macro sheets, and Excel 5's "Visual Basic module" sheets.
            if any(kind in line for line in sheets for kind in MACRO_SHEET_KINDS):
                return True
    return False


OOXML_MACRO_TYPES = (
    b"application/vnd.ms-excel.macrosheet+xml",
    b"application/vnd.ms-excel.intlmacrosheet+xml",
    b"application/vnd.ms-office.vbaproject",
)


def ooxml_declares_macros(content_types: bytes) -> bool:
    """[Content_Types].xml declares a macro sheet or a VBA project part."""
    lowered = content_types.lower()
    return any(kind.lower() in lowered for kind in OOXML_MACRO_TYPES)


# --- PDF -------------------------------------------------------------------------------

ACTIVE_NAMES = {b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/EmbeddedFiles"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/GoToE", "/RichMediaExecute"}
_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]{1,64}")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
CHUNK = 1024 * 1024
OVERLAP = 128


def _raw_names(path: Path) -> bool:
    """A name of active content anywhere in the file's bytes (outside compressed streams)."""
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            data = tail + block
            for match in _NAME.finditer(data):
                name = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group())
                if name in ACTIVE_NAMES:
                    return True
            tail = data[-OVERLAP:]
    return False


def _action_is_active(action, depth: int = 0) -> bool:
    """An action dictionary (or a chain of them through /Next) that runs or opens something."""
    if depth > 20:
        return True
    if hasattr(action, "get_object"):
        action = action.get_object()
    if not hasattr(action, "get"):
        return False
    if action.get("/S") in ACTIVE_ACTIONS or "/JS" in action:
        return True
    following = action.get("/Next")
    if following is None:
        return False
    following = following.get_object()
    chain = following if isinstance(following, list) else [following]
    return any(_action_is_active(item, depth + 1) for item in chain)


def _additional_actions(holder) -> bool:
    extra = holder.get("/AA")
    if extra is None:
        return False
    extra = extra.get_object()
    return bool(extra) and any(_action_is_active(extra[key]) for key in extra)


def _structure(path: Path) -> bool | None:
    """What pypdf finds in the document's structure; None if it cannot read it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("pypdf").setLevel(logging.CRITICAL)
        try:
            from pypdf import PdfReader

            reader = PdfReader(str(path), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                return None
            root = reader.trailer["/Root"].get_object()
            names = root.get("/Names")
            if names is not None:
                names = names.get_object()
                if "/JavaScript" in names or "/EmbeddedFiles" in names:
                    return True
            opening = root.get("/OpenAction")
            if opening is not None and _action_is_active(opening):
                return True
            if "/AA" in root:
                return True
            for page in reader.pages:
                if "/AA" in page:
                    return True
                for annotation in page.get("/Annots") or []:
                    annotation = annotation.get_object()
                    if annotation.get("/Subtype") == "/FileAttachment":
                        return True
                    action = annotation.get("/A")
                    if action is not None and _action_is_active(action):
                        return True
                    if "/AA" in annotation:
                        return True
        except Exception:  # noqa: BLE001 - pypdf cannot read it: the raw scan decides
            return None
    return False


def pdf_is_active(path: Path) -> bool:
    """Whether a PDF holds JavaScript, launch actions or embedded files."""
    return _raw_names(path) or bool(_structure(path))
