"""Import speed and memory: our import against a plain executemany, side by side.

Builds CSV files of N partner rows (English and Chinese names, kind, country, city),
then for each size, in one run on the same database:

- our import, as the pages drive it: upload (stored, checked, turned into a rows file),
  check chunk by chunk, run chunk by chunk (each chunk its own transaction, each row in a
  savepoint with its audit entry and undo record);
- a plain `executemany` of the same rows into the same table (values prepared in memory
  beforehand, one INSERT statement executed for all rows, one commit).

Reports rows per second of each and their ratio, and the peak Python memory (tracemalloc)
of our import at each size: flat memory means the 100k figure is close to the 10k one.

    .venv/bin/python bench/imports.py                      # 10k and 100k rows, SQLite
    .venv/bin/python bench/imports.py --sizes 1000 10000
    CRM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python bench/imports.py
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import delete, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db, utcnow  # noqa: E402

OUT = ROOT / "bench" / "out"
CITIES = ["台州", "杭州", "London", "Cambridge", "深圳", "Manchester"]
KINDS = ["company", "university", "government", "research"]


def make_csv(path: Path, size: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["名称", "中文名", "类型", "国家", "城市"])
        for i in range(size):
            writer.writerow(
                [f"Bench Partner {i:07d}", f"基准伙伴{i:07d}", KINDS[i % 4], "CN", CITIES[i % 6]]
            )


def build_app(url: str):
    from crm.search.index import create_search_index

    OUT.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench" * 10,
            "IMPORT_MAX_BYTES": 200 * 1024 * 1024,
            "IMPORT_CHUNK_ROWS": 500,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        create_search_index(db.engine)
    return app


def empty_partners() -> None:
    from crm.audit.models import AuditEntry
    from crm.dataio.models import DataImport
    from crm.partners.models import Partner

    db.session.execute(delete(DataImport))
    db.session.execute(delete(AuditEntry))
    db.session.execute(delete(Partner))
    db.session.commit()


def our_import(path: Path, user) -> tuple[float, int, int]:
    """Seconds, rows created, and peak traced bytes of the whole import."""
    from werkzeug.datastructures import FileStorage

    from crm.dataio import jobs

    tracemalloc.start()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        imp = jobs.start(FileStorage(handle, filename=path.name), "partner", user)
    jobs.set_mapping(imp, jobs.mapping_of(imp))
    db.session.commit()
    import_id = imp.id
    while True:
        imp = jobs.step(import_id, user)
        db.session.commit()
        if imp.status == "checked":
            break
    jobs.set_choices(imp, jobs.default_choices())
    db.session.commit()
    while True:
        imp = jobs.step(import_id, user)
        db.session.commit()
        if imp.status == "done":
            break
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    created = imp.created_count
    return elapsed, created, peak


def plain_executemany(path: Path, user_id: int) -> tuple[float, int]:
    """The same rows, prepared beforehand, in one executemany and one commit."""
    from crm.partners.models import Partner
    from crm.text import search_blob

    now = utcnow()
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for name_en, name_zh, kind, country, city in reader:
            rows.append(
                {
                    "name_en": name_en,
                    "name_zh": name_zh,
                    "kind": kind,
                    "status": "prospect",
                    "country": country,
                    "city": city,
                    "sort_name": name_en.casefold(),
                    "search_text": search_blob([name_en, name_zh]),
                    "created_at": now,
                    "updated_at": now,
                    "created_by_id": user_id,
                    "updated_by_id": user_id,
                    "owner_id": user_id,
                    "version_id": 1,
                }
            )
    started = time.perf_counter()
    db.session.execute(insert(Partner.__table__), rows)
    db.session.commit()
    elapsed = time.perf_counter() - started
    count = db.session.scalar(select(func.count(Partner.id)))
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    url = os.environ.get("CRM_BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'imports.sqlite3'}"
    app = build_app(url)
    print(f"database: {url.split('@')[-1]}")
    print(
        f"{'rows':>8} {'ours rows/s':>12} {'executemany rows/s':>19} {'ratio':>7} {'peak MiB':>9}"
    )
    peaks = {}
    with app.app_context():
        from tests.factories import make_user

        user = make_user(role="manager", email="bench-import@example.org")
        db.session.commit()
        for size in args.sizes:
            path = OUT / f"partners-{size}.csv"
            make_csv(path, size)
            empty_partners()
            ours, created, peak = our_import(path, user)
            assert created == size, (created, size)
            empty_partners()
            plain, count = plain_executemany(path, user.id)
            assert count == size, (count, size)
            empty_partners()
            peaks[size] = peak
            print(
                f"{size:>8,} {size / ours:>12,.0f} {size / plain:>19,.0f} "
                f"{plain / ours:>7.3f} {peak / 2**20:>9.1f}"
            )
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        print(
            f"peak memory at {large:,} rows / at {small:,} rows: "
            f"{peaks[large] / peaks[small]:.2f} (rows x{large / small:.0f})"
        )


if __name__ == "__main__":
    main()
