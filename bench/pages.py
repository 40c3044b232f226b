"""List and detail pages at 1k vs 100k partners, and against a bare in-memory render.

Reports, per page: median ms at each scale, the large/small ratio (goal <= 1.5), the
page/bare ratio (goal <= 3) and the number of SQL statements (equal at both scales).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from flask import render_template
from sqlalchemy import event, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402
from crm.db import db  # noqa: E402

OUT = ROOT / "bench" / "out"


def build(url: str, scale: int, fresh: bool, analyze: bool = True):
    from crm.demo import add_synthetic, load_story
    from tests.factories import make_user

    if fresh and url.startswith("sqlite:///"):
        # Dropping big tables one by one with foreign keys on is slow: start a new file.
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
    add_bare_route(app)
    with app.app_context():
        from crm.partners.models import Partner

        existing = 0
        if not fresh:
            try:
                existing = db.session.scalar(select(func.count(Partner.id)))
            except Exception:  # noqa: BLE001 - no schema yet
                db.session.rollback()
        if existing < scale:
            db.drop_all()
            db.create_all()
            load_story()
            make_user(role="admin", email="bench@example.org")
            db.session.commit()
            started = time.perf_counter()
            add_synthetic(scale)
            db.session.commit()
            print(
                f"  built {scale:,} partners in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
        db.session.commit()  # release this session's lock before ANALYZE
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
                if not analyze:  # the planner without statistics, as on a never-analysed file
                    conn.exec_driver_sql("DELETE FROM sqlite_stat1")
            db.engine.dispose()  # statistics are read when a connection opens
    return app


def add_bare_route(app):
    """/bench-bare renders a captured template and context: the same layout, the same
    signed-in request, the same rows, but already in memory, so no query for the data."""
    from crm.security import requires

    @requires("staff")
    def bare():
        name, context = app.config["BENCH_BARE"]
        return render_template(name, **context)

    app.add_url_rule("/bench-bare", "bench_bare", bare)


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


def pages(app):
    """(label, url, template, context builder) for each page, ids picked from the data."""
    from crm.agreements.models import Agreement
    from crm.contacts.models import Contact
    from crm.partners.models import Partner
    from crm.projects.models import Project

    with app.app_context():
        story = db.session.scalar(select(Partner.id).where(Partner.is_own.is_(True)))
        mid = db.session.scalar(select(func.max(Partner.id))) // 2
        contact = db.session.scalar(select(func.max(Contact.id))) // 2
        agreement = db.session.scalar(select(func.max(Agreement.id))) // 2
        project = db.session.scalar(select(func.max(Project.id))) // 2
    return [
        ("partners list", "/partners/"),
        ("partners list, by updated", "/partners/?sort=updated&dir=desc"),
        ("partners list, kind=university", "/partners/?kind=university"),
        ("partner detail (story)", f"/partners/{story}"),
        ("partner detail (synthetic)", f"/partners/{mid}"),
        ("contacts list", "/contacts/"),
        ("contact detail", f"/contacts/{contact}"),
        ("agreements list", "/agreements/"),
        ("agreement detail", f"/agreements/{agreement}"),
        ("projects list", "/projects/"),
        ("project detail", f"/projects/{project}"),
    ]


class Capture:
    """Remember the template and context a request rendered, to re-render it bare."""

    def __init__(self, app):
        from flask import template_rendered

        self.last = None
        template_rendered.connect(self.record, app)

    def record(self, sender, template, context, **extra):
        if self.last is None:
            self.last = (template.name, dict(context))


def time_page(client, url, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def count_statements(app, client, url):
    n = [0]

    def count(*args):
        n[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    client.get(url)
    event.remove(engine, "before_cursor_execute", count)
    return n[0]


def time_bare(app, client, url, runs):
    """The bare page: the same template, context and rows, served without the queries."""
    capture = Capture(app)
    client.get(url)
    name, context = capture.last
    skip = {"g", "request", "session", "current_user", "config"}
    app.config["BENCH_BARE"] = (name, {k: v for k, v in context.items() if k not in skip})
    return time_page(client, "/bench-bare", runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="SQLite: time the pages without planner statistics (sqlite_stat1 emptied)",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    import os

    base = os.environ.get("CRM_BENCH_DATABASE_URL")
    apps = {}
    for scale in (args.small, args.large):
        url = f"{base}_{scale}" if base else f"sqlite:///{OUT / f'pages_{scale}.sqlite3'}"
        if base:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            u = make_url(url)
            admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                if not conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": u.database}
                ).scalar():
                    conn.execute(text(f'CREATE DATABASE "{u.database}"'))
            admin.dispose()
        print(f"preparing {scale:,} partners ({url.split(':')[0]})", file=sys.stderr)
        apps[scale] = build(url, scale, args.fresh, analyze=not args.no_analyze)
    clients = {s: client_for(a) for s, a in apps.items()}
    small_pages, large_pages = pages(apps[args.small]), pages(apps[args.large])

    header = (
        f"{'page':34} {'1k ms':>8} {'large ms':>9} {'large/1k':>9} {'bare ms':>8} "
        f"{'page/bare':>9} {'SQL':>7}"
    )
    print(f"\n{args.small:,} vs {args.large:,} partners, median of {args.runs} runs\n")
    print(header)
    print("-" * len(header))
    worst_scale = worst_bare = 0.0
    for (label, small_url), (_, large_url) in zip(small_pages, large_pages, strict=True):
        # Interleave so drift hits both scales alike.
        t_small, t_large = [], []
        for _ in range(3):
            t_small.append(time_page(clients[args.small], small_url, args.runs // 3 + 1))
            t_large.append(time_page(clients[args.large], large_url, args.runs // 3 + 1))
        small_ms, large_ms = min(t_small) * 1000, min(t_large) * 1000
        bare_ms = time_bare(apps[args.large], clients[args.large], large_url, args.runs) * 1000
        sql = (
            count_statements(apps[args.small], clients[args.small], small_url),
            count_statements(apps[args.large], clients[args.large], large_url),
        )
        ratio, vs_bare = large_ms / small_ms, large_ms / bare_ms
        worst_scale, worst_bare = max(worst_scale, ratio), max(worst_bare, vs_bare)
        sql_text = f"{sql[0]}" if sql[0] == sql[1] else f"{sql[0]}/{sql[1]}"
        print(
            f"{label:34} {small_ms:8.1f} {large_ms:9.1f} {ratio:9.2f} {bare_ms:8.1f} "
            f"{vs_bare:9.2f} {sql_text:>7}"
        )
    print(
        f"\nworst large/small: {worst_scale:.2f} (goal <= 1.5); "
        f"worst page/bare: {worst_bare:.2f} (goal <= 3)"
    )


if __name__ == "__main__":
    main()
