"""The managers' dashboard at 100k partners and 200k agreements against at 1k, uncached
and cached; the partner network page likewise; and our partners list against a
Flask-Admin ModelView list of the same `partner` table on the same database.

    pip install -e '.[bench]'
    .venv/bin/python bench/dashboard.py            # SQLite databases cached in bench/out/
    CRM_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/dashboard.py        # PostgreSQL: bench_<partners>_<agreements>

Reports medians measured side by side in one run (the scales interleaved), their ratios,
and the SQL statement count of each page at each scale (equal: a fixed number).
Goal for the list: ours at most 0.25x Flask-Admin's time.

    .venv/bin/python bench/dashboard.py --explain '/dashboard/?country=CN'

prints the plan of every statement of one uncached page at the large scale instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db  # noqa: E402

OUT = ROOT / "bench" / "out"
ADMIN_EMAIL = "bench@example.org"


def database_url(partners: int, agreements: int) -> str:
    base = os.environ.get("CRM_BENCH_DATABASE_URL")
    if not base:
        return f"sqlite:///{OUT / f'dashboard_{partners}_{agreements}.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_{partners}_{agreements}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}
        ).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def build(url: str, partners: int, agreements: int, fresh: bool):
    """An app on a database holding the seed story plus synthetic data (built once)."""
    from crm.agreements.models import Agreement
    from crm.demo import add_synthetic, load_story
    from tests.factories import make_user

    if fresh and url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
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
        have = 0
        try:
            have = db.session.scalar(select(func.count(Agreement.id)))
            db.session.commit()  # end this session's transaction before DDL elsewhere
        except Exception:  # noqa: BLE001 - no schema yet
            db.session.rollback()
        if have < agreements:
            from crm.search.index import create_search_index

            db.drop_all()
            db.create_all()
            create_search_index(db.engine)
            load_story()
            make_user(role="admin", email=ADMIN_EMAIL)
            db.session.commit()
            started = time.perf_counter()
            add_synthetic(partners, agreements=agreements)
            db.session.commit()
            print(
                f"  built {partners:,} partners, {agreements:,} agreements in "
                f"{time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
        else:
            db.create_all()  # tables added since the database was built
        db.session.commit()
        sync_indexes(db.engine)
        # Planner statistics, committed (an ANALYZE rolled back with its transaction
        # leaves SQLite without any).
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    add_flask_admin(app)
    return app


def sync_indexes(engine):
    """Make a database built earlier carry exactly the models' indexes (create_all adds
    tables, not the indexes added to existing ones since)."""
    from sqlalchemy import inspect

    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in db.metadata.sorted_tables:
            have = {ix["name"] for ix in inspector.get_indexes(table.name)}
            want = {ix.name for ix in table.indexes}
            for name in sorted(have - want):
                if name.startswith("ix_"):
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
            for index in table.indexes:
                if index.name not in have:
                    index.create(conn)


def add_flask_admin(app):
    """A stock Flask-Admin ModelView of the same partner table, at /bench-admin/partner/.

    Flask-Admin's views declare no access level, so they are marked staff here (our app
    refuses undeclared routes); the list itself is Flask-Admin's own, untouched.
    """
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView

    from crm.partners.models import Partner

    class PartnerView(ModelView):
        column_list = ("name_en", "name_zh", "kind", "country", "status", "updated_at")
        column_sortable_list = ("name_en", "kind", "country", "status", "updated_at")
        column_default_sort = "name_en"
        can_set_page_size = False
        page_size = app.config["PAGE_SIZE"]  # the same page size as ours

    with app.app_context():
        admin = Admin(app, name="bench", url="/bench-admin", endpoint="bench_admin")
        admin.add_view(PartnerView(Partner, db, endpoint="bench_partner"))

    def declared(view):
        def run(*args, **kwargs):
            return view(*args, **kwargs)

        run.required_access = "staff"
        return run

    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith(("bench_partner.", "bench_admin.")):
            app.view_functions[endpoint] = declared(view)


def client_for(app):
    from crm.auth.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        token = user.session_token
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
    client.get("/")
    return client


def once(client, url) -> tuple[float, float]:
    """One request: (wall seconds, CPU seconds of this process). With SQLite the
    database work runs in this process, so CPU time is what the page cost, whatever the
    other load on the machine; wall time is what a user waits."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, cpu


def uncached(app, client, url) -> tuple[float, float]:
    from crm.dashboard.cache import app_cache

    app_cache(app).clear()
    return once(client, url)


def statements(app, client, url, clear: bool) -> int:
    from crm.dashboard.cache import app_cache

    with app.app_context():
        engine = db.engine
    n = [0]

    def count(*_args):
        n[0] += 1

    if clear:
        app_cache(app).clear()
    else:
        client.get(url)
    event.listen(engine, "before_cursor_execute", count)
    client.get(url)
    event.remove(engine, "before_cursor_execute", count)
    return n[0]


def medians(samples) -> tuple[float, float]:
    """Median wall and CPU milliseconds of (wall, cpu) samples."""
    return (
        statistics.median(s[0] for s in samples) * 1000,
        statistics.median(s[1] for s in samples) * 1000,
    )


def compare(label, small, large, runs, clear):
    """Interleave the two scales so drift hits both alike; medians in ms."""
    (app_s, client_s, url_s), (app_l, client_l, url_l) = small, large
    t_small, t_large = [], []
    if not clear:
        client_s.get(url_s)
        client_l.get(url_l)
    for _ in range(runs):
        if clear:
            t_small.append(uncached(app_s, client_s, url_s))
            t_large.append(uncached(app_l, client_l, url_l))
        else:
            t_small.append(once(client_s, url_s))
            t_large.append(once(client_l, url_l))
    (small_ms, small_cpu), (large_ms, large_cpu) = medians(t_small), medians(t_large)
    sql = (statements(app_s, client_s, url_s, clear), statements(app_l, client_l, url_l, clear))
    sql_text = f"{sql[0]}" if sql[0] == sql[1] else f"{sql[0]}/{sql[1]}"
    print(
        f"{label:44} {small_ms:8.1f} {large_ms:8.1f} {large_ms / small_ms:6.2f}"
        f" {small_cpu:8.1f} {large_cpu:8.1f} {large_cpu / small_cpu:6.2f} {sql_text:>5}"
    )
    return small_ms, large_ms


def explain(app, client, url) -> None:
    """Print each statement of one uncached request with its plan: EXPLAIN QUERY PLAN on
    SQLite, EXPLAIN ANALYZE on PostgreSQL (with the time each took there)."""
    from crm.dashboard.cache import app_cache

    with app.app_context():
        engine = db.engine
    seen = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    app_cache(app).clear()
    event.listen(engine, "before_cursor_execute", record)
    client.get(url)
    event.remove(engine, "before_cursor_execute", record)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        for statement, parameters in seen:
            head = statement.lstrip().split(None, 1)[0].upper()
            if head != "SELECT":
                continue
            print("\n" + " ".join(statement.split())[:300])
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ANALYZE "
            for row in conn.exec_driver_sql(prefix + statement, parameters):
                print("   ", row[3] if sqlite else row[0])
        conn.rollback()


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000, help="partners, small database")
    parser.add_argument("--large", type=int, default=100_000, help="partners, large database")
    parser.add_argument("--agreements", type=int, default=200_000, help="agreements, large")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    parser.add_argument("--deep-page", type=int, default=1000, help="the deep list page")
    parser.add_argument(
        "--explain", metavar="URL", help="print the plan of each statement of URL (large)"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    # The small database keeps the large one's ratio of agreements to partners.
    small_agreements = max(1, args.small * args.agreements // args.large)
    scales = {
        "small": (args.small, small_agreements),
        "large": (args.large, args.agreements),
    }
    apps = {}
    for name, (partners, agreements) in scales.items():
        url = database_url(partners, agreements)
        print(f"preparing {partners:,} partners / {agreements:,} agreements", file=sys.stderr)
        apps[name] = build(url, partners, agreements, args.fresh)
    clients = {name: client_for(app) for name, app in apps.items()}
    dialect = apps["large"].config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    cpus = os.cpu_count()

    busy = "from=2020-01-01&to=2020-12-31"
    pages = [
        ("dashboard (this year)", "/dashboard/", True),
        ("dashboard (this year), cached", "/dashboard/", False),
        (f"dashboard ({busy})", f"/dashboard/?{busy}", True),
        (f"dashboard ({busy}), cached", f"/dashboard/?{busy}", False),
        (
            "dashboard (2020), kind=university & CN",
            f"/dashboard/?{busy}&kind=university&country=CN",
            True,
        ),
        ("dashboard (2020), country=CN", f"/dashboard/?{busy}&country=CN", True),
        ("partner network (all time)", "/dashboard/network", True),
        ("partner network (all time), cached", "/dashboard/network", False),
        ("partner network (2020)", f"/dashboard/network?{busy}", True),
        (
            "partner network, kind=university & country=CN",
            "/dashboard/network?kind=university&country=CN",
            True,
        ),
    ]
    small, large = scales["small"], scales["large"]
    if args.explain:
        explain(apps["large"], clients["large"], args.explain)
        return
    print(
        f"\n{dialect}: {small[0]:,} partners / {small[1]:,} agreements vs "
        f"{large[0]:,} partners / {large[1]:,} agreements, median of {args.runs} runs "
        f"(the two scales interleaved), {cpus} CPUs, {load()} at the start\n"
    )
    print(f"{'':44} {'wall ms':^24} {'CPU ms (this process)':^24}")
    header = (
        f"{'page':44} {'small':>8} {'large':>8} {'ratio':>6} {'small':>8} {'large':>8}"
        f" {'ratio':>6} {'SQL':>5}"
    )
    print(header)
    print("-" * len(header))
    for label, url, clear in pages:
        compare(
            label,
            (apps["small"], clients["small"], url),
            (apps["large"], clients["large"], url),
            args.runs,
            clear,
        )

    # Our partners list against Flask-Admin's list of the same table, same database, same
    # page size, same signed-in client, both warm, runs interleaved.
    print(
        f"\npartners list at {large[0]:,} partners, {apps['large'].config['PAGE_SIZE']} rows a"
        f" page: ours vs a Flask-Admin ModelView (both signed in, runs interleaved)\n"
    )
    print(f"{'':44} {'wall ms':^24} {'CPU ms (this process)':^24}")
    header = (
        f"{'list':44} {'ours':>8} {'admin':>8} {'ratio':>6} {'ours':>8} {'admin':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    client = clients["large"]
    deep = args.deep_page
    for label, ours, theirs in [
        ("page 1, by name (both lists' default)", "/partners/", "/bench-admin/bench_partner/"),
        (
            "page 1, by updated (newest first)",
            "/partners/?sort=updated&dir=desc",
            "/bench-admin/bench_partner/?sort=5&desc=1",
        ),
        (
            f"page {deep:,} by name (ours: keyset cursor)",
            None,
            f"/bench-admin/bench_partner/?page={deep - 1}",
        ),
    ]:
        if ours is None:
            ours = page_n(client, "/partners/", deep - 1)
        client.get(ours)
        client.get(theirs)
        t_ours, t_theirs = [], []
        for _ in range(args.runs):
            t_ours.append(once(client, ours))
            t_theirs.append(once(client, theirs))
        (ours_ms, ours_cpu), (theirs_ms, theirs_cpu) = medians(t_ours), medians(t_theirs)
        print(
            f"{label:44} {ours_ms:8.1f} {theirs_ms:8.1f} {ours_ms / theirs_ms:6.2f}"
            f" {ours_cpu:8.1f} {theirs_cpu:8.1f} {ours_cpu / theirs_cpu:6.2f}"
        )
    print(f"\ngoal: ours <= 0.25x Flask-Admin's time. {load()} at the end.")


def page_n(client, url, pages):
    """Follow the list's own Next link `pages` times (keyset cursors)."""
    import re
    from html import unescape

    for _ in range(pages):
        text = client.get(url).text
        match = re.search(r'<a class="page-link" rel="next" href="([^"#]+)"', text)
        if not match:
            raise SystemExit(f"the list ended before page {pages + 1}")
        url = unescape(match.group(1))
    return url


if __name__ == "__main__":
    main()
