"""The store on disk: where it may live, and `flask documents check` against the rows."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db import db
from crm.documents import storage
from crm.documents.models import DocumentVersion
from tests.documents import samples
from tests.documents.conftest import stored_files, upload


def run(app, *args):
    return app.test_cli_runner().invoke(args=["documents", "check", *args])


def test_the_store_may_not_be_inside_static(make_app):
    static = Path(__file__).resolve().parents[2] / "crm" / "static"
    app = make_app(DOCUMENTS_PATH=str(static / "uploads"))
    with app.app_context(), pytest.raises(RuntimeError, match="static"):
        storage.documents_root()


def test_check_reports_missing_damaged_and_unreferenced_files(app, staff_client, records):
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        upload(staff_client, "partner", records["partner"].id, samples.pdf(), name)
    result = run(app)
    assert result.exit_code == 0, result.output
    assert "3 versions checked, 0 missing or damaged, 0 unreferenced files" in result.output

    versions = db.session.scalars(select(DocumentVersion).order_by(DocumentVersion.id)).all()
    root = Path(app.instance_path) / "documents"
    (root / versions[0].stored_name).unlink()
    (root / versions[1].stored_name).write_bytes(b"%PDF-1.4 changed")
    orphan = root / "ab" / ("ab" + "0" * 30)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    fresh = root / ".incoming" / "fresh.part"
    fresh.write_bytes(b"a request still running")
    stale = root / ".incoming" / "stale.part"
    stale.write_bytes(b"a request that died")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))

    result = run(app)
    assert result.exit_code == 1
    assert f"missing: version {versions[0].id}" in result.output
    assert f"damaged: version {versions[1].id}" in result.output
    assert "unreferenced: ab/ab000" in result.output
    assert "unreferenced: .incoming/stale.part" in result.output
    assert "fresh.part" not in result.output

    result = run(app, "--remove-orphans")
    assert "2 unreferenced files removed" in result.output
    assert not orphan.exists() and not stale.exists() and fresh.exists()
    assert (root / versions[2].stored_name).exists()
    assert len(stored_files(app)) == 3  # version 2 (damaged), version 3, the fresh part
