"""Uploaded files: stored under generated names, checked, and turned into a rows file.

An upload is accepted only if it is a spreadsheet: an XLSX workbook (checked by its
content, not its name), or text that decodes completely as UTF-8 (with or without BOM)
or else as GB18030, with comma, semicolon or tab separators. Anything else gets a clear
message and leaves no file behind.

Accepted files are copied once, streaming, into a rows file (one JSON line per data row,
with its spreadsheet line number), so every later step (check, run, report) reads the
rows it needs from a byte offset: memory does not grow with the file, and any worker can
pick up the next chunk.
"""

from __future__ import annotations

import codecs
import csv
import json
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from crm.dataio.cells import unguard_formula
from crm.documents import filetypes

MAX_COLUMNS = 200
MAX_CELL = 32_000
SNIFF_BYTES = 64 * 1024
COPY_BLOCK = 256 * 1024


class SourceError(ValueError):
    """A file refused, with the message shown at the file field."""


@dataclass
class Source:
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    headers: list[str] = field(default_factory=list)
    row_count: int = 0


def imports_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def max_bytes() -> int:
    return int(current_app.config["IMPORT_MAX_BYTES"])


def store_upload(storage) -> tuple[str, int]:
    """Copy an uploaded file under a generated name; refuse empty or oversized files."""
    name = secrets.token_hex(16)
    path = imports_folder() / name
    limit, size = max_bytes(), 0
    with open(path, "xb") as out:
        while block := storage.stream.read(COPY_BLOCK):
            size += len(block)
            if size > limit:
                break
            out.write(block)
    if size > limit:
        path.unlink(missing_ok=True)
        raise SourceError(too_large_message())
    if size == 0:
        path.unlink(missing_ok=True)
        raise SourceError(_l("The file is empty."))
    return name, size


def too_large_message() -> str:
    megabytes = f"{max_bytes() / (1024 * 1024):g}"
    return str(_l("The file is larger than %(mb)s MB. Split it into smaller files.", mb=megabytes))


def discard(stored_name: str) -> None:
    folder = imports_folder()
    for name in (stored_name, f"{stored_name}.rows.jsonl"):
        (folder / name).unlink(missing_ok=True)


def prepare(stored_name: str) -> Source:
    """Check the stored file and write its rows file; SourceError if it is not usable."""
    folder = imports_folder()
    path = folder / stored_name
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"PK\x03\x04"):
        if filetypes.identify(path) == filetypes.MACROS:
            raise SourceError(
                _l(
                    "Files with macros are not accepted. Save it without macros (for example "
                    "as .docx or .xlsx) and upload it again."
                )
            )
        source, rows = Source("xlsx"), _xlsx_rows(path)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError(_l("This is an old Excel (.xls) file: save it as .xlsx or CSV first."))
    elif (label := filetypes.signature(head)) is not None:
        raise SourceError(
            _l(
                "This is a %(kind)s, not a spreadsheet: upload an XLSX or a CSV file.",
                kind=label,
            )
        )
    else:
        encoding = detect_encoding(path)
        delimiter = sniff_delimiter(path, encoding)
        source = Source("csv", encoding, delimiter)
        rows = _csv_rows(path, encoding, delimiter)
    try:
        _write_rows(source, rows, folder / f"{stored_name}.rows.jsonl")
    except SourceError:
        (folder / f"{stored_name}.rows.jsonl").unlink(missing_ok=True)
        raise
    return source


def detect_encoding(path: Path) -> str:
    """utf-8-sig if the whole file decodes strictly as UTF-8, else gb18030, else refuse.

    A file that decodes but holds more than a trace of what no text has (controls,
    unassigned or private-use characters) is a binary file renamed: refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with open(path, "rb") as handle:
                while block := handle.read(COPY_BLOCK):
                    if b"\x00" in block or filetypes.mostly_not_text(decoder.decode(block)):
                        raise SourceError(
                            _l("This is not a spreadsheet: upload an XLSX or a CSV file.")
                        )
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise SourceError(
        _l(
            "The file's text is neither UTF-8 nor GB18030. Save it as “CSV UTF-8” "
            "(or as XLSX) and upload it again."
        )
    )


def sniff_delimiter(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as handle:
        sample = handle.read(SNIFF_BYTES)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[list]:
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for row in reader:
                yield [unguard_formula(cell) for cell in row]
        except csv.Error:
            raise SourceError(
                _l(
                    "Line %(line)d cannot be read as CSV (a quote left open?).",
                    line=reader.line_num,
                )
            ) from None


def _xlsx_rows(path: Path) -> Iterator[list]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    not_sheet = _l("This is not a spreadsheet: upload an XLSX or a CSV file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        raise SourceError(not_sheet) from None
    if "xl/workbook.xml" not in names:
        raise SourceError(not_sheet)
    # Opened as a file: openpyxl judges a path by its extension, and ours have none.
    handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        handle.close()
        raise SourceError(not_sheet) from None
    try:
        if not workbook.worksheets:
            raise SourceError(_l("The workbook has no sheet."))
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_plain_cell(v) for v in values]
    except SourceError:
        raise
    except Exception:  # noqa: BLE001 - a damaged workbook can fail in many places
        raise SourceError(not_sheet) from None
    finally:
        workbook.close()
        handle.close()


def _plain_cell(value):
    """A workbook cell as a JSON value: text, number, yes/no, or an ISO date."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _write_rows(source: Source, rows: Iterator[list], target: Path) -> None:
    headers: list[str] | None = None
    count = 0
    with open(target, "w", encoding="utf-8", newline="\n") as out:
        for line, cells in enumerate(rows, start=1):
            if _blank(cells):
                continue
            if len(cells) > MAX_COLUMNS:
                cells = cells[:MAX_COLUMNS]
            if any(isinstance(c, str) and len(c) > MAX_CELL for c in cells):
                raise SourceError(
                    _l(
                        "Line %(line)d has a cell longer than %(num)d characters.",
                        line=line,
                        num=MAX_CELL,
                    )
                )
            if headers is None:
                headers = [("" if c is None else str(c)).strip() for c in cells]
                continue
            count += 1
            out.write(json.dumps([line, cells], ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
    if headers is None:
        raise SourceError(_l("The file is empty."))
    if not any(headers):
        raise SourceError(_l("The first row must hold the column names."))
    if count == 0:
        raise SourceError(_l("The file has column names but no rows under them."))
    source.headers, source.row_count = headers, count


def read_rows(stored_name: str, offset: int, limit: int) -> tuple[list[tuple[int, list]], int]:
    """Up to `limit` rows from a byte offset of the rows file, and the offset after them."""
    rows = []
    with open(imports_folder() / f"{stored_name}.rows.jsonl", "rb") as handle:
        handle.seek(offset)
        for _ in range(limit):
            line = handle.readline()
            if not line:
                break
            number, cells = json.loads(line)
            rows.append((number, cells))
        return rows, handle.tell()


def iter_rows(stored_name: str) -> Iterator[tuple[int, list]]:
    """Every row of the rows file, streamed."""
    with open(imports_folder() / f"{stored_name}.rows.jsonl", "rb") as handle:
        for line in handle:
            number, cells = json.loads(line)
            yield number, cells
