"""Real files of every accepted type, and the impostors that must be refused.

Images and the PDF are written by Pillow, .docx by python-docx, .xlsx by openpyxl and .xls
by xlwt: the bytes an office or a scanner produces. There is no Python writer of legacy
Word files, so `doc()` builds a compound file by the OLE2 specification (the tests read
it back with olefile to show it is one); `pptx()` writes the parts a presentation needs.
"""

from __future__ import annotations

import io
import struct
import zipfile

import docx
import openpyxl
import xlwt
from PIL import Image


def _image(fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 60)).save(buffer, fmt, **options)
    return buffer.getvalue()


def pdf() -> bytes:
    return _image("PDF")


def png() -> bytes:
    return _image("PNG")


def jpeg() -> bytes:
    return _image("JPEG", quality=80)


def tiff() -> bytes:
    return _image("TIFF")


def docx_bytes(text: str = "三方合作协议 Cooperation agreement") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["合作方", "Partner"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xls() -> bytes:
    book = xlwt.Workbook()
    book.add_sheet("Sheet1").write(0, 0, "Taizhou")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


def pptx() -> bytes:
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/ppt/presentation.xml" ContentType="{PPTX_MAIN}"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="ppt/presentation.xml"/>'
            "</Relationships>"
        ),
        "ppt/presentation.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>'
        ),
    }
    return _zip(parts)


def _zip(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _rezip(data: bytes, change) -> bytes:
    """A copy of a zip package with `change(name, content)` applied to each part."""
    source = zipfile.ZipFile(io.BytesIO(data))
    parts = {}
    for name in source.namelist():
        result = change(name, source.read(name))
        if result is not None:
            parts[name] = result
    return _zip(parts)


WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def docm() -> bytes:
    """A Word document with macros: macro-enabled main part and a VBA project."""

    def change(name, content):
        if name == "[Content_Types].xml":
            return content.replace(
                WORD_MAIN, b"application/vnd.ms-word.document.macroEnabled.main+xml"
            )
        return content

    source = zipfile.ZipFile(io.BytesIO(_rezip(docx_bytes(), change)))
    parts = {n: source.read(n) for n in source.namelist()}
    parts["word/vbaProject.bin"] = ole2("VBA", b"Attribute VB_Name")
    return _zip(parts)


def plain_zip() -> bytes:
    return _zip({"readme.txt": "not a Word document", "data/table.csv": "a,b\n1,2\n"})


def zip_with_fake_main_part() -> bytes:
    """Declares a Word main part that is not in the package."""
    return _rezip(
        docx_bytes(), lambda name, content: None if name == "word/document.xml" else content
    )


def text() -> bytes:
    return "会议纪要 Minutes of the promotion meeting\n台州湾新区, 2020-09-01\n".encode()


def text_with_bom() -> bytes:
    return "\ufeffNotes\r\n第二行\r\n".encode()


def gb18030_text() -> bytes:
    return "会议纪要：台州湾新区管理委员会".encode("gb18030")


def html() -> bytes:
    return b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>"


def exe() -> bytes:
    """The start of a Windows executable: MZ header, DOS stub, PE signature."""
    header = bytearray(256)
    header[0:2] = b"MZ"
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    header[0x40 : 0x40 + 39] = b"This program cannot be run in DOS mode."
    header[0x80:0x84] = b"PE\x00\x00"
    return bytes(header) + b"\x00" * 512


# OLE2 compound file: 512-byte sectors, one FAT sector, one directory sector, one stream.
_FREE, _END, _FAT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    entry = encoded.ljust(64, b"\x00")
    entry += struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, black
    entry += struct.pack("<III", _NOSTREAM, _NOSTREAM, child)  # left, right, child
    entry += b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16  # CLSID, state bits, times
    entry += struct.pack("<IQ", start, size)
    return entry


def ole2(stream_name: str, payload: bytes) -> bytes:
    """A compound file holding one stream (at least 4096 bytes, so no mini stream)."""
    payload = payload.ljust(4096, b"\x00")
    payload += b"\x00" * (-len(payload) % 512)
    stream_sectors = len(payload) // 512
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)  # FAT sectors
    struct.pack_into("<I", header, 48, 1)  # first directory sector
    struct.pack_into("<I", header, 56, 4096)  # mini stream cutoff
    struct.pack_into("<III", header, 60, _END, 0, _END)  # mini FAT start/count, DIFAT start
    struct.pack_into("<I", header, 72, 0)  # DIFAT count
    difat = [0] + [_FREE] * 108
    struct.pack_into("<109I", header, 76, *difat)
    fat = [_FAT, _END]
    for i in range(stream_sectors):
        fat.append(_END if i == stream_sectors - 1 else 3 + i)
    fat += [_FREE] * (128 - len(fat))
    directory = _dir_entry("Root Entry", 5, 1, _END, 0)
    directory += _dir_entry(stream_name, 2, _NOSTREAM, 2, len(payload))
    directory += (_dir_entry("", 0, _NOSTREAM, 0, 0)) * 2
    return bytes(header) + struct.pack("<128I", *fat) + directory + payload


def doc() -> bytes:
    # A Word binary starts its WordDocument stream with the FIB magic 0xA5EC.
    return ole2("WordDocument", struct.pack("<H", 0xA5EC) + "合作协议".encode("utf-16-le"))


def ole2_other() -> bytes:
    """A compound file that is neither Word nor Excel (say an MSI or a .msg)."""
    return ole2("SomethingElse", b"payload")


ACCEPTED = {
    "pdf": ("signed.pdf", pdf),
    "png": ("scan.png", png),
    "jpeg": ("photo.jpg", jpeg),
    "tiff": ("scan.tiff", tiff),
    "docx": ("annex.docx", docx_bytes),
    "xlsx": ("figures.xlsx", xlsx),
    "pptx": ("slides.pptx", pptx),
    "doc": ("old.doc", doc),
    "xls": ("old.xls", xls),
    "text": ("minutes.txt", text),
}
