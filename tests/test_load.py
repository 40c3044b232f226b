"""The load test's short version: 20 users for 20 s against gunicorn, 8 slow clients.

It runs `bench/load.py` for real (a fresh database beside the test database, gunicorn
with the production settings of `crm/gunicorn_conf.py`, users signing in through the
form) and fails on any answer >= 500, any connection error or timeout, and any create
answered as saved that the database does not hold afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERS = 20
SECONDS = 20


def _load_database_url() -> str:
    url = os.environ.get("CRM_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        base, name = url.rsplit("/", 1)
        return f"{base}/{name}_load"
    return ""  # a new SQLite file in the run's own instance folder


def test_no_server_error_and_no_lost_create_under_load(tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--database-url",
            _load_database_url(),
            "--users",
            str(USERS),
            "--seconds",
            str(SECONDS),
            "--partners",
            "2000",
            "--slow-clients",
            "8",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(done.stdout[-5000:])
    assert out.exists(), done.stderr[-5000:]
    report = json.loads(out.read_text())
    assert report["server_errors"] == 0, report["failure_examples"]
    assert report["failures"] == 0, report["failure_examples"]
    assert report["creates_missing"] == 0
    assert done.returncode == 0, done.stdout[-3000:]
    # The run did real work: every user signed in and kept clicking, creates landed,
    # conflicting edits of the same partners were both saved and refused.
    assert report["requests"] >= USERS * SECONDS, report["requests"]
    assert report["creates_confirmed"] > 0
    assert report["outcomes"].get("form edit saved", 0) > 0, report["outcomes"]
    assert report["actions"]["api get"]["n"] > 0
    assert report["actions"]["dashboard"]["n"] > 0
