"""Search at 1k vs 100k partners: median ms for a 3+ character and a 2-character query.

Builds (or reuses) one SQLite database per scale with `crm.demo.add_synthetic`, then
times the search statements (one per kind) for each query, in the same run, and
reports the large/small ratio (issue 6 goal: within 2x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db  # noqa: E402

OUT = ROOT / "bench" / "out"
QUERIES = {"3+ chars, rare": "ukiic", "3+ chars, common": "taizhou", "2 chars": "台州"}


def build(url: str, scale: int, fresh: bool):
    from crm.demo import add_synthetic, load_story
    from crm.search.index import create_search_index

    path = Path(url.removeprefix("sqlite:///"))
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench" * 10,
        }
    )
    with app.app_context():
        from crm.partners.models import Partner

        try:
            existing = db.session.scalar(select(func.count(Partner.id)))
        except Exception:  # noqa: BLE001 - no schema yet
            db.session.rollback()
            existing = 0
        if existing < scale:
            db.drop_all()
            db.create_all()
            create_search_index(db.engine)
            load_story()
            db.session.commit()
            started = time.perf_counter()
            add_synthetic(scale)
            db.session.commit()
            print(
                f"  built {scale:,} partners in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
        db.session.commit()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return app


def time_query(app, q: str, runs: int) -> tuple[float, int]:
    from crm.search.queries import clean_query, search

    q = clean_query(q)
    times = []
    found = 0
    with app.app_context():
        for _ in range(runs):
            db.session.expunge_all()
            started = time.perf_counter()
            groups = search(q)
            times.append((time.perf_counter() - started) * 1000)
            found = sum(len(g.records) for g in groups)
            db.session.rollback()
    return statistics.median(times), found


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    apps = {
        scale: build(f"sqlite:///{OUT / f'search_{scale}.sqlite3'}", scale, args.fresh)
        for scale in (args.small, args.large)
    }
    print(f"{'query':32} {args.small:>9,} {args.large:>9,}  ratio  results")
    for label, q in QUERIES.items():
        small, n_small = time_query(apps[args.small], q, args.runs)
        large, n_large = time_query(apps[args.large], q, args.runs)
        print(
            f"{label + ' ' + q:32} {small:8.2f}ms {large:8.2f}ms  {large / small:5.1f}x"
            f"  {n_small}/{n_large}"
        )


if __name__ == "__main__":
    main()
