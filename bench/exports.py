"""Export speed and memory: the partners list as CSV and XLSX at 10k, 100k and 1M rows.

Builds (once, kept in bench/out/) one SQLite database per size holding that many
partners, bilingual, with tags, owners and other names on some, then downloads
`/export/partners.csv` and `/export/partners.xlsx` through the app as a signed-in
manager, reading the streamed body chunk by chunk as a browser would, and reports:

- rows per second of the download (a pass without tracing);
- the peak Python memory of a second, traced pass (tracemalloc): a streamed export
  keeps it flat, so the 1M figure should be close to the 10k one;
- the size of the file.

    .venv/bin/python bench/exports.py                         # 10k, 100k and 1M
    .venv/bin/python bench/exports.py --sizes 10000 100000    # quicker
    CRM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_exports \\
        .venv/bin/python bench/exports.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db, utcnow  # noqa: E402

OUT = ROOT / "bench" / "out"
PLACES = [
    ("Taizhou", "台州"),
    ("Hangzhou", "杭州"),
    ("Shenzhen", "深圳"),
    ("Ningbo", "宁波"),
    ("Cambridge", None),
    ("Manchester", None),
]
FIELDS = [("Robotics", "机器人"), ("Biotech", "生物技术"), ("New Materials", "新材料")]
KINDS = ["company", "university", "government", "research"]
BATCH = 20_000


def make_app(url: str):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench" * 10,
            "RATELIMIT_ENABLED": False,
        }
    )


def partner_rows(size: int, owner_id: int):
    """Batches of partner rows as a spreadsheet import or the forms would leave them."""
    from crm.text import search_blob

    rng = random.Random(size)
    now = utcnow()
    batch = []
    for i in range(size):
        (place_en, place_zh), (field_en, field_zh) = rng.choice(PLACES), rng.choice(FIELDS)
        name_en = f"{place_en} {field_en} Company {i:07d}"
        name_zh = f"{place_zh}{field_zh}有限公司{i:07d}" if place_zh else None
        batch.append(
            {
                "name_en": name_en,
                "name_zh": name_zh,
                "kind": KINDS[i % 4],
                "status": "active",
                "country": "CN" if place_zh else "GB",
                "city": place_en,
                "website": f"https://p{i}.example.org",
                "description": f"{field_en} partner in {place_en}; 合作伙伴 {i}",
                "sort_name": name_en.casefold(),
                "search_text": search_blob([name_en, name_zh]),
                "created_at": now,
                "updated_at": now,
                "created_by_id": owner_id,
                "updated_by_id": owner_id,
                "owner_id": owner_id,
                "version_id": 1,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build(url: str, size: int):
    """The app on a database holding `size` partners (reused when already built)."""
    from crm.partners.models import Partner
    from tests.factories import make_user

    app = make_app(url)
    with app.app_context():
        try:
            existing = db.session.scalar(select(func.count(Partner.id)))
        except Exception:  # noqa: BLE001 - no schema yet
            db.session.rollback()
            existing = None
        if existing != size:
            started = time.perf_counter()
            db.drop_all()
            db.create_all()
            user = make_user(role="manager", email="bench-export@example.org")
            db.session.commit()
            for batch in partner_rows(size, user.id):
                db.session.execute(insert(Partner.__table__), batch)
                db.session.commit()
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            print(
                f"  built {size:,} partners in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
    return app


def download(app, fmt: str, traced: bool) -> tuple[float, int, int, int]:
    """Seconds, bytes, peak traced bytes and rows of one streamed download."""
    from crm.auth.models import User
    from crm.partners.models import Partner

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bench-export@example.org"))
        login_id = user.get_id()
        rows = db.session.scalar(select(func.count(Partner.id)))
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = login_id
        sess["_fresh"] = True
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    total = 0
    with app.app_context():
        response = client.get(f"/export/partners.{fmt}", buffered=False)
        assert response.status_code == 200, response.status_code
        for chunk in response.response:
            total += len(chunk)
        response.close()
    elapsed = time.perf_counter() - started
    peak = 0
    if traced:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return elapsed, total, peak, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("CRM_BENCH_DATABASE_URL")
    print(f"database: {(base or 'sqlite').split('@')[-1]}")
    print(f"{'rows':>10} {'format':>6} {'seconds':>8} {'rows/s':>8} {'MiB out':>8} {'peak MiB':>9}")
    peaks: dict[str, dict[int, int]] = {fmt: {} for fmt in args.formats}
    for size in args.sizes:
        url = f"{base}_{size}" if base else f"sqlite:///{OUT / f'exports_{size}.sqlite3'}"
        if base:
            _ensure_pg_database(url)
        app = build(url, size)
        for fmt in args.formats:
            seconds, out, _peak, rows = download(app, fmt, traced=False)
            _seconds, _out, peak, _rows = download(app, fmt, traced=True)
            peaks[fmt][size] = peak
            print(
                f"{rows:>10,} {fmt:>6} {seconds:>8.1f} {rows / seconds:>8,.0f} "
                f"{out / 2**20:>8.1f} {peak / 2**20:>9.1f}"
            )
        with app.app_context():
            db.engine.dispose()
    for fmt, by_size in peaks.items():
        if len(by_size) > 1:
            small, large = min(by_size), max(by_size)
            print(
                f"{fmt}: peak memory at {large:,} rows / at {small:,} rows: "
                f"{by_size[large] / by_size[small]:.2f} (rows x{large // small})"
            )


def _ensure_pg_database(url: str) -> None:
    from sqlalchemy import create_engine

    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
