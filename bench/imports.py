"""Import speed and memory: our import against a plain executemany, side by side.

Builds CSV files of N rows per kind, then for each kind and size, in one run on the same
database:

- our import, as the pages drive it: upload (stored, checked, turned into a rows file),
  check chunk by chunk, run chunk by chunk (each chunk its own transaction, its rows
  applied in batches inside savepoints, with audit entries, undo records, the search
  index kept by its triggers and the duplicate index refreshed per batch);
- a plain `executemany` of the same rows into the same tables (values prepared in memory
  beforehand, derived fields included; one INSERT ... RETURNING for the records and one
  INSERT for their links, one commit). It keeps no audit trail, no undo records and no
  duplicate index, and checks nothing: it is the floor, not a rival.

The kinds: partners (English and Chinese names, kind, country, city); contacts (names,
email, organisation and title: each row also writes a position at one of 50 existing
partners); agreements (titles, type, stage, two parties by name: each row also writes
two agreement_party rows).

Reports rows per second of each and their ratio, the CPU seconds of our import (this
process: on a loaded machine wall time also counts the wait for a core), and the memory
of our import: the peak resident set size above the size before it (sampled every 20 ms),
or with --tracemalloc the peak of traced Python allocations (slower: tracing is on
during the timed run). Flat memory means the 100k figure is close to the 10k one.

    .venv/bin/python bench/imports.py                      # 10k and 100k rows, SQLite
    .venv/bin/python bench/imports.py --sizes 1000 10000 --kinds partner
    CRM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python bench/imports.py
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import threading
import time
import tracemalloc
from datetime import date
from pathlib import Path

from sqlalchemy import delete, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db, utcnow  # noqa: E402

OUT = ROOT / "bench" / "out"
CITIES = ["台州", "杭州", "London", "Cambridge", "深圳", "Manchester"]
KINDS = ["company", "university", "government", "research"]
TITLES = ["Director", "主任", "Professor", "经理", "Engineer"]
ORGS = [f"Bench Organisation {i:02d}" for i in range(50)]


# --- files ---------------------------------------------------------------------------------


def partner_rows(size):
    yield ["名称", "中文名", "类型", "国家", "城市"]
    for i in range(size):
        yield [f"Bench Partner {i:07d}", f"基准伙伴{i:07d}", KINDS[i % 4], "CN", CITIES[i % 6]]


def contact_rows(size):
    yield ["姓名", "中文名", "邮箱", "单位", "职务"]
    for i in range(size):
        yield [
            f"Bench Contact {i:07d}",
            f"联系人{i:07d}",
            f"contact{i:07d}@bench.example",
            ORGS[i % len(ORGS)],
            TITLES[i % len(TITLES)],
        ]


def agreement_rows(size):
    yield ["Title", "中文标题", "Type", "Stage", "Parties"]
    for i in range(size):
        a, b = ORGS[i % len(ORGS)], ORGS[(i * 7 + 1) % len(ORGS)]
        yield [
            f"Bench Agreement {i:07d}",
            f"基准协议{i:07d}",
            "mou",
            "negotiation",
            f"{a}; {b} [host]" if a != b else a,
        ]


FILES = {"partner": partner_rows, "contact": contact_rows, "agreement": agreement_rows}


def make_csv(path: Path, kind: str, size: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(FILES[kind](size))


def read_csv(path: Path):
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        yield from reader


# --- the database ----------------------------------------------------------------------------


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


def seed_organisations(user) -> dict[str, int]:
    from crm.partners.models import Partner

    ids = {}
    for name in ORGS:
        partner = Partner(name_en=name, kind="company", status="active", country="GB")
        partner.refresh_derived()
        partner.stamp(user)
        db.session.add(partner)
        db.session.flush()
        ids[name] = partner.id
    db.session.commit()
    return ids


def empty(kind: str) -> None:
    """Remove what an import or the executemany wrote (the 50 organisations stay)."""
    from crm.agreements.models import Agreement, AgreementParty
    from crm.audit.models import AuditEntry
    from crm.contacts.models import Contact, Position
    from crm.dataio.models import DataImport
    from crm.duplicates.models import DuplicateKey, DuplicatePair, DuplicateProfile
    from crm.partners.models import Partner

    db.session.execute(delete(DataImport))
    db.session.execute(delete(AuditEntry))
    if kind == "contact":
        db.session.execute(delete(Position))
        db.session.execute(delete(Contact))
    elif kind == "agreement":
        db.session.execute(delete(AgreementParty))
        db.session.execute(delete(Agreement))
    else:
        db.session.execute(delete(Partner).where(Partner.name_en.not_in(ORGS)))
    for model in (DuplicatePair, DuplicateKey, DuplicateProfile):
        db.session.execute(delete(model).where(model.kind == kind))
    db.session.commit()


def count(kind: str) -> int:
    from crm.dataio.jobs import _models

    model = _models()[kind]
    query = select(func.count(model.id))
    if kind == "partner":
        query = query.where(model.name_en.not_in(ORGS))
    return db.session.scalar(query)


# --- the two ways in -------------------------------------------------------------------------


class PeakRSS:
    """The peak resident set size above the size at the start, sampled in a thread."""

    def __init__(self, every: float = 0.02):
        self.every = every
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        self.start = self.peak = self.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def grown(self) -> int:
        return self.peak - self.start


def our_import(path: Path, kind: str, user, traced: bool) -> dict:
    """Seconds (wall and CPU), rows created, and the memory figure of the whole import."""
    from werkzeug.datastructures import FileStorage

    from crm.dataio import jobs

    if traced:
        tracemalloc.start()
    with PeakRSS() as rss:
        started, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as handle:
            imp = jobs.start(FileStorage(handle, filename=path.name), kind, user)
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
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    memory = rss.grown
    if traced:
        memory = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert imp.failed_count == 0, imp.counts()
    return {"seconds": elapsed, "cpu": cpu, "created": imp.created_count, "memory": memory}


def plain_executemany(path: Path, kind: str, user_id: int, orgs: dict[str, int]) -> float:
    """The same rows, prepared beforehand, in one executemany per table and one commit."""
    from crm.agreements.models import Agreement, AgreementParty
    from crm.contacts.models import Contact, Position
    from crm.partners.models import Partner
    from crm.text import search_blob

    now = utcnow()
    stamps = {
        "created_at": now,
        "updated_at": now,
        "created_by_id": user_id,
        "updated_by_id": user_id,
        "owner_id": user_id,
        "version_id": 1,
    }
    rows, links = [], []
    for cells in read_csv(path):
        if kind == "partner":
            name_en, name_zh, partner_kind, country, city = cells
            rows.append(
                {
                    "name_en": name_en,
                    "name_zh": name_zh,
                    "kind": partner_kind,
                    "status": "prospect",
                    "country": country,
                    "city": city,
                    "sort_name": name_en.casefold(),
                    "search_text": search_blob([name_en, name_zh]),
                    **stamps,
                }
            )
        elif kind == "contact":
            name, name_zh, email, org, title = cells
            rows.append(
                {
                    "name": name,
                    "name_zh": name_zh,
                    "email": email,
                    "sort_name": name.casefold(),
                    "search_text": search_blob([name, name_zh, email]),
                    **stamps,
                }
            )
            links.append({"partner_id": orgs[org], "title": title})
        else:
            title, title_zh, agreement_type, stage, parties = cells
            rows.append(
                {
                    "title": title,
                    "title_zh": title_zh,
                    "type": agreement_type,
                    "stage": stage,
                    "auto_renew": False,
                    "sort_title": title.casefold(),
                    "signed_sort": date.max,
                    "expires_sort": date.max,
                    "search_text": search_blob([title, title_zh]),
                    **stamps,
                }
            )
            named = [p.strip() for p in parties.split(";")]
            links.append(
                [
                    {
                        "partner_id": orgs[n.removesuffix(" [host]")],
                        "role": "host" if n.endswith("[host]") else "party",
                    }
                    for n in named
                ]
            )
    model, link_model, link_key = {
        "partner": (Partner, None, None),
        "contact": (Contact, Position, "contact_id"),
        "agreement": (Agreement, AgreementParty, "agreement_id"),
    }[kind]
    table = model.__table__
    started = time.perf_counter()
    ids = db.session.scalars(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    ).all()
    if link_model is not None:
        link_rows = []
        for record_id, link in zip(ids, links, strict=True):
            for item in link if isinstance(link, list) else [link]:
                link_rows.append({link_key: record_id, **item})
        db.session.execute(insert(link_model.__table__), link_rows)
    db.session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--kinds", nargs="+", default=["partner", "contact", "agreement"])
    parser.add_argument(
        "--tracemalloc", action="store_true", help="memory as traced Python allocations"
    )
    args = parser.parse_args()
    url = os.environ.get("CRM_BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'imports.sqlite3'}"
    app = build_app(url)
    memory_label = "traced MiB" if args.tracemalloc else "+RSS MiB"
    print(f"database: {url.split('@')[-1]}   load average: {os.getloadavg()[0]:.1f}")
    print(
        f"{'kind':<10} {'rows':>8} {'ours rows/s':>12} {'(CPU s)':>8} {memory_label:>10} "
        f"{'executemany rows/s':>19} {'ratio':>7}"
    )
    with app.app_context():
        from tests.factories import make_user

        user = make_user(role="manager", email="bench-import@example.org")
        db.session.commit()
        orgs = seed_organisations(user)
        for kind in args.kinds:
            memory = {}
            for size in args.sizes:
                path = OUT / f"{kind}s-{size}.csv"
                make_csv(path, kind, size)
                empty(kind)
                ours = our_import(path, kind, user, args.tracemalloc)
                assert ours["created"] == size == count(kind), (ours["created"], size)
                memory[size] = ours["memory"]
                # Our figures first: clearing 100k records away takes a while.
                print(
                    f"{kind:<10} {size:>8,} {size / ours['seconds']:>12,.0f} "
                    f"{ours['cpu']:>8.1f} {ours['memory'] / 2**20:>10.1f} ",
                    end="",
                    flush=True,
                )
                empty(kind)
                plain = plain_executemany(path, kind, user.id, orgs)
                assert count(kind) == size
                empty(kind)
                print(f"{size / plain:>19,.0f} {plain / ours['seconds']:>7.3f}", flush=True)
            if len(memory) > 1:
                small, large = min(memory), max(memory)
                print(
                    f"{kind}: memory at {large:,} rows / at {small:,} rows: "
                    f"{memory[large] / max(memory[small], 1):.2f} (rows x{large / small:.0f})",
                    flush=True,
                )


if __name__ == "__main__":
    main()
