"""Drive an import through its steps as a user would, with the test client."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from crm.dataio.models import DataImport
from crm.db import db


def upload(client, kind: str, data: bytes, name: str = "rows.csv"):
    return client.post(
        "/imports/new",
        data={"csrf_token": client.csrf_token(), "kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def last_import() -> DataImport:
    db.session.rollback()
    return db.session.scalar(select(DataImport).order_by(DataImport.id.desc()))


def mapping_choices(client, import_id: int) -> dict[str, str]:
    """The column mapping the page proposes, as the form would submit it."""
    page = client.get(f"/imports/{import_id}/mapping").text
    chosen = {}
    for select_html in re.findall(r'<select[^>]*name="(col-\d+)"[^>]*>(.*?)</select>', page, re.S):
        name, options = select_html
        picked = re.search(r'<option value="([^"]*)" selected>', options)
        chosen[name] = picked.group(1) if picked else ""
    return chosen


def steps(client, import_id: int, limit: int = 10_000) -> dict:
    """Press "run next chunk" until the step is done; the last JSON answer."""
    for _ in range(limit):
        response = client.post(
            f"/imports/{import_id}/step",
            data={"csrf_token": client.csrf_token()},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        data = response.get_json()
        if not data["running"]:
            return data
    raise AssertionError("the step never finished")


def check(client, import_id: int, mapping: dict[str, str] | None = None) -> dict:
    chosen = mapping if mapping is not None else mapping_choices(client, import_id)
    response = client.post_form(f"/imports/{import_id}/mapping", chosen)
    assert response.status_code == 302, response.text
    return steps(client, import_id)


def run(client, import_id: int, **choices) -> dict:
    data = {"new": "create", "match": "update", "several": "skip", "partners": "create"}
    data.update(choices)
    response = client.post_form(f"/imports/{import_id}/run", data)
    assert response.status_code == 302, response.text
    return steps(client, import_id)


def full_import(client, kind: str, data: bytes, name: str = "rows.csv", **choices) -> DataImport:
    response = upload(client, kind, data, name)
    assert response.status_code == 302, response.text
    imp = last_import()
    check(client, imp.id)
    run(client, imp.id, **choices)
    return last_import()


def outcomes(imp: DataImport) -> dict[int, tuple[str, str]]:
    """line -> (outcome, reason) for every row of the import."""
    from crm.dataio.models import DataImportRow

    db.session.rollback()
    rows = db.session.scalars(
        select(DataImportRow)
        .where(DataImportRow.import_id == imp.id)
        .order_by(DataImportRow.row_number)
    )
    return {r.row_number: (r.outcome, r.message or "") for r in rows}
