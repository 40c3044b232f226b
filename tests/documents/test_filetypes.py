"""The allow-list is checked against real file bytes, and file names are made safe."""

from __future__ import annotations

import io

import olefile
import pytest

from crm.documents import filetypes
from crm.documents.filetypes import Refused, check, clean_filename
from tests.documents import samples


def write(tmp_path, content: bytes):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("code", list(samples.ACCEPTED))
def test_every_accepted_type_is_recognised_from_real_bytes(app, tmp_path, code):
    name, make = samples.ACCEPTED[code]
    file_type = check(write(tmp_path, make()), name)
    assert file_type.code == code
    assert name.rsplit(".", 1)[1] in file_type.extensions


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("SIGNED.PDF", samples.pdf, "pdf"),
        ("photo.JPEG", samples.jpeg, "jpeg"),
        ("scan.tif", samples.tiff, "tiff"),
        ("notes.txt", samples.text_with_bom, "text"),
    ],
)
def test_extension_case_and_alternatives(app, tmp_path, name, make, code):
    assert check(write(tmp_path, make()), name).code == code


def test_the_legacy_word_sample_is_a_real_compound_file():
    # Read back by an independent OLE2 reader: the bytes are what Word's container holds.
    ole = olefile.OleFileIO(io.BytesIO(samples.doc()))
    assert ole.listdir() == [["WordDocument"]]
    assert ole.openstream("WordDocument").read(2) == b"\xec\xa5"
    ole.close()
    assert olefile.OleFileIO(io.BytesIO(samples.xls())).exists("Workbook")


SPOOFED = [
    ("setup.pdf", samples.exe, "is not a PDF document"),
    ("invoice.pdf", samples.html, "web page or other markup, not a PDF document"),
    ("contract.docx", samples.plain_zip, "is not a Word document"),
    ("contract.docx", samples.zip_with_fake_main_part, "is not a Word document"),
    ("contract.docx", samples.xlsx, "another type (Excel workbook). Rename it to .xlsx"),
    ("contract.pdf", samples.png, "Rename it to .png"),
    ("budget.xlsx", samples.docx_bytes, "Rename it to .docx"),
    ("contract.docx", samples.docm, "macros are not accepted"),
    ("old.doc", samples.ole2_other, "is not a Word 97-2003 document"),
    ("old.doc", samples.xls, "Rename it to .xls"),
    ("minutes.txt", samples.gb18030_text, "is not a plain text file"),
    ("minutes.txt", samples.exe, "is not a plain text file"),
    ("page.txt", samples.html, "web page or other markup, not a plain text file"),
    ("scan.png", samples.jpeg, "Rename it to .jpg"),
]


@pytest.mark.parametrize(("name", "make", "message"), SPOOFED)
def test_content_that_does_not_match_the_name_is_refused(app, tmp_path, name, make, message):
    with pytest.raises(Refused) as refused:
        check(write(tmp_path, make()), name)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("passwd", "needs an extension"),
        ("setup.exe", "Files ending in .exe are not accepted"),
        ("report.pdf.exe", "Files ending in .exe are not accepted"),
        ("page.html", "Files ending in .html are not accepted"),
        ("drawing.svg", "Files ending in .svg are not accepted"),
    ],
)
def test_names_outside_the_allow_list_are_refused(app, tmp_path, name, message):
    with pytest.raises(Refused) as refused:
        check(write(tmp_path, samples.pdf()), name)
    assert message in refused.value.message
    assert ".pdf" in refused.value.message  # says what is accepted


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("../../etc/x.pdf", "x.pdf"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("\\\\server\\share\\scan.png", "scan.png"),
        ("合作协议（签字版）.pdf", "合作协议（签字版）.pdf"),
        ("a\x00b\r\n.pdf", "ab.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("  .hidden.pdf ", "hidden.pdf"),
        ("report.pdf...", "report.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ('a<b>:c"d|e?f*.pdf', "a_b__c_d_e_f_.pdf"),
        ("multiple   spaces\tname.txt", "multiple spaces name.txt"),
        ("", ""),
        (None, ""),
        ("/", ""),
    ],
)
def test_clean_filename_keeps_only_a_safe_base_name(raw, clean):
    assert clean_filename(raw) == clean


def test_clean_filename_shortens_long_names_and_keeps_the_extension():
    name = clean_filename("长" * 300 + ".docx")
    assert name.endswith(".docx")
    assert len(name) <= filetypes.NAME_LIMIT
