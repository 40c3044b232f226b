"""Export memory and speed: the partners list as CSV and XLSX at several sizes, one run.

For each size, fills the partner table (plain Core inserts), then downloads
/export/partners.csv and .xlsx through the app (the response read block by block, as a
client would) and reports rows per second and the peak Python memory (tracemalloc) of
each download. Flat memory: the peak at the largest size is close to the smallest's.

    .venv/bin/python bench/exports.py                         # 10k and 100k rows, SQLite
    .venv/bin/python bench/exports.py --sizes 10000 1000000   # a million rows
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import delete, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db, utcnow  # noqa: E402

OUT = ROOT / "bench" / "out"


def fill(size: int, owner_id: int) -> None:
    from crm.partners.models import Partner
    from crm.text import search_blob

    db.session.execute(delete(Partner))
    now = utcnow()
    batch = []
    for i in range(size):
        name = f"Export Partner {i:07d}"
        batch.append(
            {
                "name_en": name,
                "name_zh": f"导出伙伴{i:07d}",
                "kind": "company",
                "status": "active",
                "country": "CN",
                "city": "台州",
                "sort_name": name.casefold(),
                "search_text": search_blob([name]),
                "created_at": now,
                "updated_at": now,
                "owner_id": owner_id,
                "version_id": 1,
            }
        )
        if len(batch) == 20_000:
            db.session.execute(insert(Partner.__table__), batch)
            batch = []
    if batch:
        db.session.execute(insert(Partner.__table__), batch)
    db.session.commit()


def download(client, url: str) -> tuple[float, int, int]:
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url, buffered=False)
    size = 0
    for block in response.response:
        size += len(block)
    response.close()
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, size, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    from crm.search.index import create_search_index

    OUT.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("CRM_BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'exports.sqlite3'}"
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
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
        create_search_index(db.engine)
        from tests.factories import make_user

        manager = make_user(role="manager", email="bench-export@example.org")
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = manager.get_id()
        print(f"database: {url.split('@')[-1]}")
        print(f"{'rows':>10} {'format':>6} {'rows/s':>9} {'MiB out':>8} {'peak MiB':>9}")
        peaks: dict[str, dict[int, int]] = {"csv": {}, "xlsx": {}}
        for size in args.sizes:
            fill(size, manager.id)
            for fmt in ("csv", "xlsx"):
                elapsed, out, peak = download(client, f"/export/partners.{fmt}")
                peaks[fmt][size] = peak
                print(
                    f"{size:>10,} {fmt:>6} {size / elapsed:>9,.0f} {out / 2**20:>8.1f} "
                    f"{peak / 2**20:>9.1f}"
                )
        small, large = min(args.sizes), max(args.sizes)
        for fmt, by_size in peaks.items():
            print(
                f"{fmt}: peak memory at {large:,} rows / at {small:,} rows: "
                f"{by_size[large] / by_size[small]:.2f} (rows x{large / small:.0f})"
            )


if __name__ == "__main__":
    main()
