"""The dashboard's cache across workers: a write committed by another process (its own
app, its own in-process cache) is seen on this worker's next page, through the version
row bumped in the write's transaction; a rolled-back write bumps nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from sqlalchemy import select

from crm.app import ROOT
from crm.dashboard.cache import app_cache
from crm.dashboard.models import DashboardVersion
from crm.db import db
from tests.conftest import TEST_SECRET
from tests.dashboard.test_dashboard import PERIOD, figure, populate
from tests.factories import make_partner
from tests.querycount import count_statements


def version() -> int:
    db.session.commit()  # a fresh snapshot
    return db.session.scalar(select(DashboardVersion.version)) or 0


def write_in_another_process(app, code: str) -> None:
    """Run `code` in a new Python process, on its own app over the same database."""
    script = textwrap.dedent(
        f"""
        from crm import create_app
        from crm.db import db
        from tests.factories import make_partner
        app = create_app({{
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": {app.config["SQLALCHEMY_DATABASE_URI"]!r},
            "INSTANCE_PATH": {app.instance_path!r},
            "SECRET_KEY": {TEST_SECRET!r},
        }})
        with app.app_context():
        """
    ) + textwrap.indent(textwrap.dedent(code), "    ")
    db.session.commit()  # release this process's read snapshot / locks first
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_a_write_in_another_worker_is_seen_here(app, manager_client, users):
    populate(users)
    first = manager_client.get("/dashboard/", query_string=PERIOD).text
    with count_statements(app) as cached:
        manager_client.get("/dashboard/", query_string=PERIOD)
    assert cached.count <= 5, cached  # served from this worker's cache
    before = version()
    write_in_another_process(
        app,
        """
        make_partner("Made elsewhere", kind="company", country="GB", status="active")
        db.session.commit()
        """,
    )
    assert version() == before + 1
    # This worker's cache was not told anything in memory; the version it reads is new.
    assert app_cache(app).entries
    after = manager_client.get("/dashboard/", query_string=PERIOD).text
    assert figure(after, "fig-new-partners") == figure(first, "fig-new-partners") + 1


def test_a_rolled_back_write_keeps_the_cache(app, manager_client, users):
    populate(users)
    manager_client.get("/dashboard/", query_string=PERIOD)
    before = version()
    write_in_another_process(
        app,
        """
        make_partner("Never saved", status="active")
        db.session.flush()
        db.session.rollback()
        """,
    )
    assert version() == before
    with count_statements(app) as cached:
        page = manager_client.get("/dashboard/", query_string=PERIOD).text
    assert cached.count <= 5, cached
    assert "Never saved" not in page


def test_only_writes_to_the_figures_tables_bump(app, users):
    from crm.audit.models import AuditEntry

    before = version()
    # Reads and writes elsewhere (the audit trail alone) leave the version as it was.
    db.session.scalar(select(DashboardVersion.id))
    db.session.execute(db.update(AuditEntry).where(AuditEntry.id == -1).values(record_id=0))
    db.session.commit()
    assert version() == before
    make_partner("Counted", status="active")
    db.session.commit()
    assert version() == before + 1
    # Several writes in one transaction: one bump.
    make_partner("One", status="active")
    make_partner("Two", status="active")
    db.session.commit()
    assert version() == before + 2


def test_cache_seconds_from_the_environment(make_app, monkeypatch):
    """CRM_DASHBOARD_CACHE_SECONDS arrives as text; 0 turns the cache off."""
    from tests.factories import make_user

    monkeypatch.setenv("CRM_DASHBOARD_CACHE_SECONDS", "0")
    app = make_app()
    with app.app_context():
        manager = make_user(role="manager")
        db.session.commit()
        client = app.test_client().login_as(manager)
        token = manager.get_id()
        client.get("/dashboard/")
        with count_statements(app) as again:
            assert client.get("/dashboard/").status_code == 200
        assert again.count > 10, again  # computed afresh: nothing was kept
        assert not app_cache(app).entries
    monkeypatch.setenv("CRM_DASHBOARD_CACHE_SECONDS", "60")
    cached_app = make_app()
    with cached_app.app_context():
        client = cached_app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = token, True
        client.get("/dashboard/")
        with count_statements(cached_app) as again:
            assert client.get("/dashboard/").status_code == 200
        assert again.count <= 6, again


def test_a_write_made_apart_from_the_session_bumps_too(app, staff_client, users):
    """Opening the project form adds the missing standard indicator kinds apart from the
    request's read transaction (crm.db.write_aside); the figures read indicator kinds, so
    that write bumps the version like any other."""
    from crm.projects.models import IndicatorKind

    before = version()
    assert db.session.scalar(select(IndicatorKind.id).limit(1)) is None
    assert staff_client.get("/projects/new").status_code == 200
    assert db.session.scalar(select(IndicatorKind.id).limit(1)) is not None
    assert version() == before + 1
    assert staff_client.get("/projects/new").status_code == 200  # nothing missing now
    assert version() == before + 1
