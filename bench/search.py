"""Search at 1k vs 1M partners: median ms per query, large/small ratio, statement count.

    .venv/bin/python bench/search.py                      # SQLite, 1k vs 1M
    CRM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/crm_search_bench \\
        .venv/bin/python bench/search.py                  # PostgreSQL, <url>_<partners>

Builds (or reuses: cached in bench/out/, or PostgreSQL databases named <name>_<scale>) one
database per scale: the seed story, `crm.demo.add_synthetic(1000)` (1k partners, 1k
contacts, 500 agreements, projects, activities), then synthetic partners up to the scale,
bulk-inserted with Core in batches (bilingual names, pinyin and search_text as the app
builds them; the trigram index kept by its trigger, the search keys written alongside). Then
times `crm.search.queries.search` (every kind, 20 per group, records loaded) for each
query, the small and the large database in turn (interleaved, so drift hits both alike),
and reports medians of wall time and of this process's CPU time, the ratio, and the
statements sent per search. Issue 6 goal: within 2x.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event, func, insert, inspect, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db  # noqa: E402

OUT = ROOT / "bench" / "out"
QUERIES = {
    "3+ chars, rare": "ukiic",
    "3+ chars, common": "taizhou",
    "3+ chars, Chinese": "生物医药",
    "2 chars, Chinese": "台州",
    "1 char, Chinese, common": "州",
    "1 char, Chinese, contacts": "刘",
    "2 Latin letters, common": "zh",
    "2 Latin letters, absent": "qx",
}
BASE = 1_000  # add_synthetic(BASE) in every database: the other kinds, same at each scale


def _partner_rows(first_id: int, count: int, seed: int):
    """Synthetic partners, the same shape as add_synthetic's."""
    from crm.db import utcnow
    from crm.demo import synthetic_partner_rows
    from crm.text import pinyin

    cache: dict[str, str] = {}

    def py(zh):
        if zh not in cache:
            cache[zh] = pinyin(zh)
        return cache[zh]

    return synthetic_partner_rows(random.Random(seed), first_id, count, utcnow(), py)


def _fill(scale: int) -> None:
    """Story + add_synthetic(BASE) through the app's paths (triggers keep the index), then
    bulk partners up to `scale`: the trigram index still by its trigger, the keys written
    here from `search_keys` (the same keys the triggers compute, tested) and the FTS table
    rebuilt at the end, the partner triggers paused meanwhile: several times faster than
    the row triggers at this volume."""
    from sqlalchemy import column, table

    from crm.demo import add_synthetic, load_story
    from crm.demo.synthetic import _reset_sequences
    from crm.partners.models import Partner
    from crm.search.index import (
        KEY_TABLE,
        key_trigger_statements,
        search_keys,
        table_number,
        trigram_trigger_statements,
    )

    load_story()
    add_synthetic(BASE)
    db.session.commit()
    first = db.session.scalar(select(func.max(Partner.id))) + 1
    remaining = scale - db.session.scalar(select(func.count(Partner.id)))
    if remaining <= 0:
        return
    dialect = db.engine.dialect.name
    keys = table(KEY_TABLE, column("tbl"), column("tier"), column("key"), column("record_id"))
    tbl = table_number("partner")
    if dialect == "sqlite":
        db.session.execute(text("PRAGMA cache_size=-1000000"))
    paused = key_trigger_statements(dialect, "partner", False)
    for statement in paused + trigram_trigger_statements(dialect, "partner", False):
        db.session.execute(text(statement))
    batch = 20_000
    started = time.perf_counter()
    done = 0
    while done < remaining:
        count = min(batch, remaining - done)
        rows = _partner_rows(first + done, count, done)
        db.session.execute(insert(Partner.__table__), rows)
        key_rows = sorted(
            (tier, key, row["id"]) for row in rows for tier, key in search_keys(row["search_text"])
        )
        db.session.execute(
            insert(keys),
            [{"tbl": tbl, "tier": t, "key": k, "record_id": i} for t, k, i in key_rows],
        )
        db.session.commit()
        done += count
        if done % 100_000 < batch:
            rate = done / (time.perf_counter() - started)
            print(f"    {done:,} partners ({rate:,.0f}/s)", file=sys.stderr)
    resumed = key_trigger_statements(dialect, "partner", True)
    for statement in resumed + trigram_trigger_statements(dialect, "partner", True):
        db.session.execute(text(statement))
    _reset_sequences("partner")
    db.session.commit()


def _ensure_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def build(url: str, scale: int, fresh: bool):
    from crm.partners.models import Partner
    from crm.search.index import KEY_TABLE, create_search_index

    if fresh and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    _ensure_database(url)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench" * 10,
        }
    )
    with app.app_context():
        names = set(inspect(db.engine).get_table_names())
        existing = 0
        if "partner" in names and KEY_TABLE in names and not fresh:
            existing = db.session.scalar(select(func.count(Partner.id)))
        if existing < scale:  # the story and add_synthetic(BASE) come on top at 1k
            db.session.rollback()
            started = time.perf_counter()
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            db.drop_all()
            db.create_all()
            create_search_index(db.engine)
            _fill(scale)
            print(
                f"  built {scale:,} partners in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
            db.session.close()
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM ANALYZE")
            else:
                db.session.execute(text("ANALYZE"))
                db.session.commit()
        counts = {
            "partners": db.session.scalar(select(func.count(Partner.id))),
            "keys": db.session.scalar(text(f"SELECT count(*) FROM {KEY_TABLE}")),  # noqa: S608
        }
        db.session.rollback()
    return app, counts


def time_query(app, q: str) -> tuple[float, float, int, int]:
    """(wall ms, CPU ms, records found, statements) of one search."""
    from crm.search.queries import clean_query, search

    q = clean_query(q)
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        db.session.expunge_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            groups = search(q)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        found = sum(len(g.records) for g in groups)
        db.session.rollback()
    return wall * 1000, cpu * 1000, found, len(statements)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("CRM_BENCH_DATABASE_URL")
    apps = {}
    for scale in (args.small, args.large):
        url = f"{base}_{scale}" if base else f"sqlite:///{OUT / f'search_{scale}.sqlite3'}"
        print(f"preparing {scale:,} partners ({url.split(':')[0]})", file=sys.stderr)
        app, counts = build(url, scale, args.fresh)
        apps[scale] = app
        print(f"  {counts['partners']:,} partners, {counts['keys']:,} search keys", file=sys.stderr)
    dialect = "postgresql" if base else "sqlite"
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(
        f"\n{dialect}: {args.small:,} vs {args.large:,} partners, median of {args.runs} runs, "
        f"load average {load:.1f}\n"
    )
    header = (
        f"{'query':36} {'small ms':>9} {'large ms':>9} {'ratio':>6} "
        f"{'small cpu':>9} {'large cpu':>9} {'ratio':>6} {'found':>7} {'SQL':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, q in QUERIES.items():
        for app in apps.values():  # warm up (page cache, statement cache)
            time_query(app, q)
        samples = {scale: [] for scale in apps}
        for _ in range(args.runs):
            for scale, app in apps.items():
                samples[scale].append(time_query(app, q))
        small, large = samples[args.small], samples[args.large]
        med = lambda rows, i: statistics.median(r[i] for r in rows)  # noqa: E731
        print(
            f"{label + ': ' + q:36} {med(small, 0):9.2f} {med(large, 0):9.2f} "
            f"{med(large, 0) / med(small, 0):5.1f}x {med(small, 1):9.2f} {med(large, 1):9.2f} "
            f"{med(large, 1) / max(med(small, 1), 1e-9):5.1f}x "
            f"{small[-1][2]:>3}/{large[-1][2]:<3} {small[-1][3]:>3}/{large[-1][3]:<3}"
        )
    print("\nfound: records shown (all kinds, 20 per group at most); SQL: statements sent")


if __name__ == "__main__":
    main()
