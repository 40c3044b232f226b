"""Helpers for the document tests: upload through the real route, look at the store."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.db import db
from crm.documents.models import Document, DocumentVersion
from tests.factories import make_agreement, make_contact, make_partner, make_project

GENERATED = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")


def upload(client, owner, record_id, content: bytes | None, filename="file.pdf", **fields):
    data = {"title": "", "kind": "signed", "description": "", **fields}
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)
    return client.post_form(
        f"/documents/new/{owner}/{record_id}", data, content_type="multipart/form-data"
    )


def upload_in_memory(client, owner, record_id, content: bytes, filename):
    """As `upload`, with the body built in memory: the test client spools large bodies to
    a temporary file that it leaves open when the server refuses to read the body."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart(
        {
            "csrf_token": client.csrf_token(),
            "title": "",
            "kind": "other",
            "file": FileStorage(io.BytesIO(content), filename=filename),
        }
    )
    return client.post(
        f"/documents/new/{owner}/{record_id}",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def new_version(client, document_id, content: bytes | None, filename="file.pdf", note=""):
    data = {"note": note}
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)
    return client.post_form(
        f"/documents/{document_id}/versions", data, content_type="multipart/form-data"
    )


def fetch(client, url):
    """GET a download, read it and close it (a file response holds the file open)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def stored_files(app) -> list[Path]:
    """Every file under the documents folder, the incoming area included."""
    root = Path(app.instance_path) / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def row_counts() -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Document)),
        db.session.scalar(select(func.count()).select_from(DocumentVersion)),
    )


def only_document() -> Document:
    db.session.expire_all()
    return db.session.scalars(select(Document)).one()


def field_errors(response, field="file") -> list[str]:
    html = response.get_data(as_text=True)
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(rf'data-field="{field}">(.*?)</div>', html, re.S)
    ]


@pytest.fixture
def records(users):
    """One record of each kind that documents attach to, owned by the staff user."""
    staff = users["staff"]
    partner = make_partner("台州湾新区管理委员会", owner=staff)
    made = {
        "partner": partner,
        "contact": make_contact("Li Wei", owner=staff),
        "agreement": make_agreement(
            "Three-party agreement", parties=[(partner, "party")], owner=staff
        ),
        "project": make_project("Taizhou accelerator", owner=staff),
    }
    db.session.commit()
    return made
