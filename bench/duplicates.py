"""Duplicates at 1k vs 100k partners, measured side by side in one run.

Each database holds the seed story with the Ekoo company entered a second time under the
article's other translation, `flask demo --scale N` data (N partners, N contacts ...),
and the same number of near-duplicates at both scales (a synthetic partner or contact
entered again in capitals, another legal form, a bracketed place or another word order),
so the duplicates page shows full pages of real pairs at both scales.

Reports:
- the full scan (`flask duplicates scan`): records, pairs compared within blocks (never
  every pair with every pair), likely pairs found, seconds;
- median ms of the duplicates page (first page and the next), of the live check the
  create forms call, and of re-checking one record as an ORM write does, at each scale,
  with the large/small ratio and the SQL statement count of each request.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db, utcnow  # noqa: E402

OUT = ROOT / "bench" / "out"
VARIANTS = 300  # near-duplicates added at every scale


def _variant_partner(rng, row):
    name = row["name_en"]
    tweak = rng.choice(["caps", "legal", "place", "order"])
    if tweak == "caps":
        name = name.upper()
    elif tweak == "legal":
        name = name.replace("Co., Ltd", "Company Limited") + " Ltd"
    elif tweak == "place":
        name = f"{name} ({row['city'] or 'Shenzhen'})"
    else:
        words = name.split()
        name = " ".join(words[1:] + words[:1])
    return name


def add_variants(n: int, seed: int = 7) -> int:
    """Enter `n` synthetic partners and n/2 contacts a second time, slightly differently."""
    from crm.contacts.models import Contact
    from crm.partners.models import Partner
    from crm.text import search_blob

    rng = random.Random(seed)
    now = utcnow()
    partners = db.session.execute(
        select(Partner.name_en, Partner.city, Partner.kind, Partner.country)
        .order_by(Partner.id)
        .limit(n * 20)
    )
    # Synthetic partners end with their number: "Taizhou Robotics University 123".
    synthetic = [p for p in partners.mappings() if p["name_en"].rsplit(" ", 1)[-1].isdigit()]
    chosen = rng.sample(synthetic, n)
    rows = []
    for row in chosen:
        name = _variant_partner(rng, row)
        rows.append(
            {
                "name_en": name,
                "kind": row["kind"],
                "status": "prospect",
                "country": row["country"],
                "city": row["city"],
                "sort_name": name.casefold(),
                "search_text": search_blob([name]),
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
    db.session.execute(insert(Partner.__table__), rows)
    people = (
        db.session.execute(select(Contact.name).order_by(Contact.id).limit(n * 20)).scalars().all()
    )
    contacts = []
    people = [p for p in people if len(p.split()) == 3 and p.split()[-1].isdigit()]
    for name in rng.sample(people, n // 2):
        surname, given, number = name.split()
        other = f"{given} {surname} {number}"
        contacts.append(
            {
                "name": other,
                "sort_name": other.casefold(),
                "search_text": search_blob([other]),
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
    db.session.execute(insert(Contact.__table__), contacts)
    return len(rows) + len(contacts)


def build(url: str, scale: int, fresh: bool):
    from crm.demo import add_synthetic
    from crm.duplicates import index
    from crm.search.index import create_search_index
    from tests.duplicates.story import split_ekoo_story
    from tests.factories import make_user

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
            "WTF_CSRF_ENABLED": False,
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
            user = make_user(role="admin", email="bench@example.org")
            split_ekoo_story(user)
            db.session.commit()
            started = time.perf_counter()
            add_synthetic(scale)
            added = add_variants(VARIANTS)
            db.session.commit()
            print(
                f"  built {scale:,} partners (+{added} near-duplicates) in "
                f"{time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
        db.session.commit()
        # The full scan is measured on every run (cached data or not).
        for kind in ("partner", "contact"):
            started = time.perf_counter()
            found = index.scan(db.session.connection(), kind)
            db.session.commit()
            found["seconds"] = time.perf_counter() - started
            app.config.setdefault("BENCH_SCAN", {})[kind] = found
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return app


def client_for(app):
    from crm.auth.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "bench@example.org"))
        token = user.session_token
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
    client.get("/")
    return client


def timed_get(app, client, url: str, runs: int) -> tuple[float, int, str]:
    statements = []

    def count(conn, cursor, statement, *args):
        head = statement.lstrip().split(None, 1)[0].upper()
        if head not in {"BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"}:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    times = []
    body = ""
    for i in range(runs + 2):
        statements.clear()
        event.listen(engine, "after_cursor_execute", count)
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        event.remove(engine, "after_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code)
        body = response.get_data(as_text=True)
        if i >= 2:  # two warm-up requests
            times.append(elapsed)
    return statistics.median(times), len(statements), body


def timed_refresh(app, runs: int) -> float:
    """Re-checking one record, as every ORM write to a partner's names does."""
    from crm.duplicates import index
    from crm.partners.models import Partner

    times = []
    with app.app_context():
        ids = db.session.scalars(select(Partner.id).order_by(Partner.id.desc()).limit(runs)).all()
        for rid in ids:
            conn = db.session.connection()
            started = time.perf_counter()
            index.refresh(conn, "partner", [rid])
            times.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    scales = (args.small, args.large)
    apps = {
        scale: build(f"sqlite:///{OUT / f'duplicates_{scale}.sqlite3'}", scale, args.fresh)
        for scale in scales
    }
    print("full scan (flask duplicates scan), per kind:")
    for scale in scales:
        for kind, found in apps[scale].config.get("BENCH_SCAN", {}).items():
            print(
                f"  {scale:>9,} partners  {kind:8} {found['records']:>8,} records "
                f"{found['compared']:>8,} pairs compared {found['pairs']:>6,} likely "
                f"{found['seconds']:7.1f}s"
            )
    clients = {scale: client_for(apps[scale]) for scale in scales}
    first = {}
    for scale in scales:
        _, _, body = timed_get(apps[scale], clients[scale], "/duplicates/", 1)
        after = body.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
        assert "Sino-British arts library" in body or after, "the story pair is listed"
        first[scale] = after
    checks = [
        ("duplicates page, first page", lambda s: "/duplicates/"),
        ("duplicates page, next page", lambda s: first[s]),
        ("duplicates page, contacts only", lambda s: "/duplicates/?kind=contact"),
        (
            "live check (new partner form)",
            lambda s: (
                "/duplicates/check?kind=partner&name=Sino+British+Ekoo+Network"
                "&name=%E4%B8%AD%E8%8B%B1%E8%89%BA%E5%BA%93"
            ),
        ),
        ("live check (new contact form)", lambda s: "/duplicates/check?kind=contact&name=Liu+Xian"),
    ]
    print(f"\n{'request':34} {scales[0]:>9,} {scales[1]:>9,}   ratio  statements")
    for label, url_for_scale in checks:
        small, n_small, _ = timed_get(
            apps[scales[0]], clients[scales[0]], url_for_scale(scales[0]), args.runs
        )
        large, n_large, _ = timed_get(
            apps[scales[1]], clients[scales[1]], url_for_scale(scales[1]), args.runs
        )
        print(
            f"{label:34} {small:7.2f}ms {large:7.2f}ms  {large / small:5.2f}x  {n_small}/{n_large}"
        )
    small = timed_refresh(apps[scales[0]], args.runs)
    large = timed_refresh(apps[scales[1]], args.runs)
    label = "re-check one record (on write)"
    print(f"{label:34} {small:7.2f}ms {large:7.2f}ms  {large / small:5.2f}x")


if __name__ == "__main__":
    main()
