"""A partner's page with 20,000 activities against one with 20 (goal: within 1.5x),
with the SQL statement count of each; measured in one run, interleaved."""

from __future__ import annotations

import argparse
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


def build(url, many):
    from crm.activities.models import Activity, activity_partner
    from crm.partners.models import Partner
    from tests.factories import make_partner, make_user

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench" * 10,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        user = make_user(role="staff", email="bench@example.org")
        few, lots = make_partner("Twenty activities"), make_partner("Many activities")
        db.session.commit()
        start = datetime(2015, 1, 1, tzinfo=UTC)
        for partner, n in ((few, 20), (lots, many)):
            first = (db.session.scalar(select(db.func.max(Activity.id))) or 0) + 1
            rows, links = [], []
            for i in range(n):
                when = start + timedelta(hours=i)
                rows.append(
                    {
                        "id": first + i,
                        "kind": "meeting",
                        "title": f"Meeting {i}",
                        "occurred_at": when,
                        "timezone": "UTC",
                        "search_text": "",
                        "created_at": when,
                        "updated_at": when,
                        "version_id": 1,
                    }
                )
                links.append(
                    {"activity_id": first + i, "partner_id": partner.id, "occurred_at": when}
                )
            db.session.execute(insert(Activity.__table__), rows)
            db.session.execute(insert(activity_partner), links)
        db.session.commit()
        ids = (few.id, lots.id, user.session_token)
        assert db.session.get(Partner, lots.id) is not None
    return app, ids


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--many", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    import os

    url = os.environ.get("CRM_BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'timeline.sqlite3'}"
    app, (few, lots, token) = build(url, args.many)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
    client.get("/")
    with app.app_context():
        engine = db.engine
    results = {}
    for label, pid in (("20 activities", few), (f"{args.many:,} activities", lots)):
        counter = [0]

        def count(*_a, counter=counter):
            counter[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        assert client.get(f"/partners/{pid}").status_code == 200
        event.remove(engine, "before_cursor_execute", count)
        results[label] = {"pid": pid, "sql": counter[0], "times": []}
    for _ in range(args.runs):  # interleaved, so drift hits both alike
        for r in results.values():
            started = time.perf_counter()
            client.get(f"/partners/{r['pid']}")
            r["times"].append(time.perf_counter() - started)
    print(f"\npartner page with its timeline, median of {args.runs} runs ({url.split(':')[0]})\n")
    print(f"{'partner':24} {'median ms':>10} {'SQL statements':>15}")
    medians = []
    for label, r in results.items():
        median = statistics.median(r["times"]) * 1000
        medians.append(median)
        print(f"{label:24} {median:10.1f} {r['sql']:>15}")
    print(f"\nratio many/20: {medians[1] / medians[0]:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
