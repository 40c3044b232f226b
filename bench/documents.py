"""Documents: a partner page with 100 documents (all listed) against one with 5,000 (the
newest 100 listed; goal: within 1.5x, same statement count), and the cost of an upload
(parse, content check, store, commit) and of a download against plain file operations on
the same bytes. Measured in one run, interleaved."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db  # noqa: E402

OUT = ROOT / "bench" / "out"
MIB = 1024 * 1024


def build(url, many):
    from crm.documents.models import Document, DocumentVersion
    from tests.factories import make_partner, make_user

    instance = OUT / "documents-instance"
    shutil.rmtree(instance, ignore_errors=True)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench" * 10,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        user = make_user(role="staff", email="bench@example.org")
        few, lots = make_partner("100 documents"), make_partner("Many documents")
        db.session.commit()
        start = datetime(2020, 1, 1, tzinfo=UTC)
        for partner, n in ((few, 100), (lots, many)):
            first = (db.session.scalar(select(db.func.max(Document.id))) or 0) + 1
            docs, versions = [], []
            for i in range(n):
                when = start + timedelta(minutes=i)
                docs.append(
                    {
                        "id": first + i,
                        "partner_id": partner.id,
                        "title": f"Scan {i}",
                        "kind": "scan",
                        "current_number": 2,
                        "created_at": when,
                        "updated_at": when,
                        "version_id": 1,
                        "owner_id": user.id,
                    }
                )
                for number in (1, 2):
                    token = hashlib.md5(f"{first + i}-{number}".encode()).hexdigest()  # noqa: S324
                    versions.append(
                        {
                            "document_id": first + i,
                            "number": number,
                            "stored_name": f"{token[:2]}/{token}",
                            "original_name": f"scan-{i}-v{number}.pdf",
                            "file_type": "pdf",
                            "content_type": "application/pdf",
                            "size": 1000 + i,
                            "sha256": "0" * 64,
                            "uploaded_at": when,
                            "uploaded_by_id": user.id,
                        }
                    )
            db.session.execute(insert(Document.__table__), docs)
            db.session.execute(insert(DocumentVersion.__table__), versions)
        db.session.commit()
        ids = (few.id, lots.id, user.session_token)
    return app, ids


def timed(fn, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--many", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--file-mib", type=int, default=20)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("CRM_BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'documents.sqlite3'}"
    app, (few, lots, token) = build(url, args.many)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
    client.get("/")
    with app.app_context():
        engine = db.engine

    pages = {}
    for label, pid in (("100 documents", few), (f"{args.many:,} documents", lots)):
        counter = [0]

        def count(*_a, counter=counter):
            counter[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        assert client.get(f"/partners/{pid}").status_code == 200
        event.remove(engine, "before_cursor_execute", count)
        pages[label] = {"pid": pid, "sql": counter[0], "times": []}
    for _ in range(args.runs):  # interleaved, so drift hits both alike
        for r in pages.values():
            started = time.perf_counter()
            client.get(f"/partners/{r['pid']}")
            r["times"].append(time.perf_counter() - started)
    print(f"\npartner page with its documents, median of {args.runs} runs ({url.split(':')[0]})\n")
    print(f"{'partner':24} {'median ms':>10} {'SQL statements':>15}")
    medians = []
    for label, r in pages.items():
        median = statistics.median(r["times"]) * 1000
        medians.append(median)
        print(f"{label:24} {median:10.1f} {r['sql']:>15}")
    print(f"\nratio many/100: {medians[1] / medians[0]:.2f} (goal <= 1.5)")

    # Upload and download of one file against plain file work on the same bytes.
    content = b"%PDF-1.7\n" + os.urandom(args.file_mib * MIB)
    scratch = OUT / "documents-scratch.bin"
    runs = max(3, args.runs // 6)

    def plain_copy_and_hash():
        digest = hashlib.sha256()
        with open(scratch, "wb") as out:
            for i in range(0, len(content), MIB):
                chunk = content[i : i + MIB]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())

    def upload():
        from werkzeug.datastructures import FileStorage
        from werkzeug.test import encode_multipart

        with client.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", "b" * 40)
        from itsdangerous import URLSafeTimedSerializer

        csrf = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
        boundary, body = encode_multipart(
            {
                "csrf_token": csrf,
                "kind": "scan",
                "file": FileStorage(io.BytesIO(content), filename="scan.pdf"),
            }
        )
        response = client.post(
            f"/documents/new/partner/{few}",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert response.status_code == 302, response.status_code

    upload_ms = timed(upload, runs)
    copy_ms = timed(plain_copy_and_hash, runs)
    with app.app_context():
        from crm.documents.models import DocumentVersion

        version_id = db.session.scalar(
            select(DocumentVersion.id).where(DocumentVersion.original_name == "scan.pdf")
        )

    def download():
        response = client.get(f"/documents/files/{version_id}")
        assert len(response.get_data()) == len(content)
        response.close()

    def plain_read():
        with open(scratch, "rb") as handle:
            while handle.read(MIB):
                pass

    download_ms = timed(download, runs)
    read_ms = timed(plain_read, runs)
    scratch.unlink(missing_ok=True)
    print(f"\n{args.file_mib} MiB PDF, median of {runs} runs\n")
    print(f"{'':40} {'median ms':>10}")
    print(f"{'upload (parse, check, store, commit)':40} {upload_ms:10.1f}")
    print(f"{'plain copy + SHA-256 + fsync':40} {copy_ms:10.1f}")
    print(f"{'download (permission check, send_file)':40} {download_ms:10.1f}")
    print(f"{'plain read of the file':40} {read_ms:10.1f}")
    print(f"\nratio upload/plain copy: {upload_ms / copy_ms:.2f}")
    print(f"ratio download/plain read: {download_ms / read_ms:.2f}")


if __name__ == "__main__":
    main()
