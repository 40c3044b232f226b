"""Active content is refused at both doors (documents and imports): Excel 4.0 macro
sheets in legacy and OOXML workbooks, and PDFs with JavaScript, launch actions or
embedded files. The fixtures are built here, byte by byte where no writer exists."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import xlwt

from crm.documents.filetypes import Refused, check
from tests.documents import samples
from tests.documents.conftest import upload
from tests.imports import flow


def write(tmp_path, content: bytes, name="upload.bin"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def xls_with_macro_sheet(macro: bool = True, kind: int = 1) -> bytes:
    """An .xls whose second sheet is an Excel 4.0 macro sheet.

    xlwt writes every BOUNDSHEET record with sheet type 0 (worksheet); the type is the
    byte after the visibility one, just before the sheet name (cch, flags, characters),
    so it is set to 1 (macro sheet) in place. The file lacks Excel's class id, as a
    crafted one may: olevba alone does not take it for a workbook."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    for row in range(50):
        sheet.write(row, 0, f"row {row}")
    book.add_sheet("Macro1").write(0, 0, '=EXEC("calc.exe")')
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if macro:
        record = b"\x00\x00\x06\x00Macro1"
        assert data.count(record) == 1
        data = data.replace(record, b"\x00" + bytes([kind]) + b"\x06\x00Macro1")
    return data


def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["English name", "City"])
    book.active.append(["Acme Ltd", "Taizhou"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_with(parts: dict[str, bytes], content_type: str | None) -> bytes:
    """A copy of a real workbook with extra parts, declared in [Content_Types].xml."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "[Content_Types].xml" and content_type:
                override = (
                    f'<Override PartName="/{next(iter(parts))}" ContentType="{content_type}"/>'
                )
                content = content.replace(b"</Types>", override.encode() + b"</Types>")
            archive.writestr(name, content)
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


MACRO_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8"?><xm:macrosheet '
    b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"/>'
)


def xlsx_with_macro_sheet() -> bytes:
    return xlsx_with(
        {"xl/macrosheets/sheet1.xml": MACRO_SHEET}, "application/vnd.ms-excel.macrosheet+xml"
    )


def pdf(objects: list[bytes], root: bytes) -> bytes:
    """A small PDF with these objects (numbered from 1) and a valid xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    start = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %s >>\n" % (len(objects) + 1, root))
    out.write(b"startxref\n%d\n%%%%EOF\n" % start)
    return out.getvalue()


PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"


def plain_pdf() -> bytes:
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", PAGES, PAGE], b"1 0 R")


def pdf_open_action_js() -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            PAGES,
            PAGE,
            b"<< /Type /Action /S /JavaScript /JS (app.alert\\('hi'\\)) >>",
        ],
        b"1 0 R",
    )


def pdf_names_javascript_escaped() -> bytes:
    """/JavaScript written with #xx escapes, as obfuscated files do."""
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61vaScript 4 0 R >> >>",
            PAGES,
            PAGE,
            b"<< /Names [(x) 5 0 R] >>",
            b"<< /S /J#61vaScript /J#53 (1) >>",
        ],
        b"1 0 R",
    )


def pdf_embedded_file() -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>",
            PAGES,
            PAGE,
            b"<< /Names [(a.exe) 5 0 R] >>",
            b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>",
            b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream",
        ],
        b"1 0 R",
    )


def pdf_launch_annotation() -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            PAGES,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>",
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /L#61unch "
            b"/F (cmd.exe) >> >>",
        ],
        b"1 0 R",
    )


def pdf_catalog_additional_actions() -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /AA << /WC 4 0 R >> >>",
            PAGES,
            PAGE,
            b"<< /S /ImportData /F (data.fdf) >>",
        ],
        b"1 0 R",
    )


ACTIVE_PDFS = [
    pdf_open_action_js,
    pdf_names_javascript_escaped,
    pdf_embedded_file,
    pdf_launch_annotation,
    pdf_catalog_additional_actions,
]


@pytest.mark.parametrize("make", ACTIVE_PDFS)
def test_pdfs_with_scripts_actions_or_attachments_are_refused(app, tmp_path, make):
    with pytest.raises(Refused) as refused:
        check(write(tmp_path, make()), "contract.pdf")
    assert "scripts, launch actions or attached files are not accepted" in refused.value.message


def test_a_plain_pdf_and_pillows_pdf_are_accepted(app, tmp_path):
    assert check(write(tmp_path, plain_pdf(), "a"), "plain.pdf").code == "pdf"
    assert check(write(tmp_path, samples.pdf(), "b"), "scan.pdf").code == "pdf"


@pytest.mark.parametrize("kind", [1, 6], ids=["excel-4-macro-sheet", "vb-module-sheet"])
def test_an_xls_with_an_excel_4_macro_sheet_is_refused(app, tmp_path, kind):
    assert check(write(tmp_path, xls_with_macro_sheet(False), "a"), "book.xls").code == "xls"
    with pytest.raises(Refused) as refused:
        check(write(tmp_path, xls_with_macro_sheet(kind=kind), "b"), "book.xls")
    assert "macros are not accepted" in refused.value.message


@pytest.mark.parametrize("make", [xlsx_with_macro_sheet])
def test_an_xlsx_with_a_macro_sheet_or_a_vba_project_is_refused(app, tmp_path, make):
    assert check(write(tmp_path, xlsx_bytes(), "a"), "book.xlsx").code == "xlsx"
    with pytest.raises(Refused) as refused:
        check(write(tmp_path, make(), "b"), "book.xlsx")
    assert "macros are not accepted" in refused.value.message


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("book.xls", xls_with_macro_sheet),
        ("book.xlsx", xlsx_with_macro_sheet),
        ("contract.pdf", pdf_open_action_js),
        ("contract.pdf", pdf_embedded_file),
    ],
)
def test_the_documents_door_refuses_at_the_field(app, staff_client, records, name, make):
    response = upload(staff_client, "partner", records["partner"].id, make(), name)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'data-field="file"' in text and "not accepted" in text


@pytest.mark.parametrize(
    ("make", "name", "message"),
    [
        (xlsx_with_macro_sheet, "book.xlsx", "Files with macros are not accepted"),
        (samples.docm, "book.xlsx", "Files with macros are not accepted"),
        (xls_with_macro_sheet, "book.xls", "old Excel (.xls)"),
        (pdf_open_action_js, "rows.csv", "This is a PDF document, not a spreadsheet"),
    ],
)
def test_the_import_door_refuses_at_the_field(app, staff_client, users, make, name, message):
    response = flow.upload(staff_client, "partner", make(), name)
    assert response.status_code == 200
    assert 'data-field="file"' in response.text and message in response.text


def test_the_import_door_still_takes_a_plain_workbook(app, staff_client, users):
    imp = flow.full_import(staff_client, "partner", xlsx_bytes(), "book.xlsx")
    assert imp.counts()["created"] == 1
