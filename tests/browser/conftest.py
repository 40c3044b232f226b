"""Real-browser fixtures: the app served on loopback, driven by the system Chromium.

Tests skip with a reason where no Chromium (or Playwright) is found, and fail instead when
CRM_REQUIRE_BROWSER=1 (CI sets it). `playwright install` is never needed: Debian's
chromium is launched directly.
"""

from __future__ import annotations

import os
import shutil
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing(reason: str):
    if os.environ.get("CRM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CRM_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable():
    path = os.environ.get("CRM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        _missing("no Chromium found (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    return path


@pytest.fixture
def app(make_app):
    """The test thread only reads (or writes between page actions) while the served app
    writes, so its transactions must not take SQLite's write lock up front."""
    from crm.db import db

    app = make_app(SQLITE_IMMEDIATE_OUTSIDE_REQUESTS=False)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def live_server(app):
    """Serve the test app on a free loopback port in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(10)


class BrowserLog:
    """Console errors and any request that leaves the app, collected during a test."""

    def __init__(self, base_url: str):
        self.origin = urlsplit(base_url).netloc
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []

    def on_console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.origin:
            self.foreign_requests.append(request.url)


@pytest.fixture
def browser_page(chromium_executable, live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(base_url=live_server, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log = BrowserLog(live_server)
        page.on("console", log.on_console)
        page.on("pageerror", lambda exc: log.console_errors.append(str(exc)))
        page.on("request", log.on_request)
        page.log = log
        yield page
        context.close()
        browser.close()


@pytest.fixture
def signed_in_page(app, browser_page):
    """A browser page signed in (through the form) as a fresh admin."""
    from crm.db import db
    from tests.factories import PASSWORD, make_user

    user = make_user(role="admin", email="liu.xian@ukiic.example", name="Liu Xian")
    db.session.commit()
    page = browser_page
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.user = user
    db.session.commit()  # end the test thread's read transaction before the test writes
    return page


def pick(page, field_id: str, text: str, choose: str | None = None):
    """Type into a record picker and choose the result containing `choose` (or the first)."""
    box = page.locator(f"#{field_id}__label")
    box.fill(text)
    results = page.locator(f"#{field_id}__label ~ .picker-results button")
    if choose:
        results.filter(has_text=choose).first.click()
    else:
        results.first.click()
