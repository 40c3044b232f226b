"""A load test: many signed-in users against gunicorn, on SQLite or PostgreSQL.

    .venv/bin/python bench/load.py --users 40 --seconds 60 --partners 20000
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/crm_load

It builds a fresh database (the SQLite file under a temporary instance folder, or the
PostgreSQL database named in the URL, dropped and created again: name one you can lose),
migrates it with `flask db upgrade`, fills it with `flask demo --scale`, makes staff and
manager accounts with API tokens, starts gunicorn with the production settings of
`crm/gunicorn_conf.py` on a loopback port, and runs `--users` simulated users for
`--seconds`. Each signs in through the login form and then, at random: opens lists,
record pages, the dashboard (managers), searches, calls the API (reads and creates),
creates partners through the form, and edits a few partners that everybody edits at once
(so saves conflict). `--slow-clients N` also keeps N connections open that send their
request headers one byte at a time, as a slow or hostile client would.

Afterwards every create that was answered as saved is looked up in the database. The
report gives requests, answers per status class, failures (any answer >= 500, any
connection error or timeout, any create missing afterwards), p50/p95 per action and
requests per second. The exit code is 1 when there was any failure, so CI can run a short
version (tests/test_load.py).

Traffic goes to 127.0.0.1 only, and the run stops by itself after `--seconds`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load-test-password-" + "k" * 8
SEARCH_WORDS = ["taizhou", "univ", "台州", "tech", "zh", "centre", "innovation", "刘", "bay"]


# ---------------------------------------------------------------------------------------
# Set-up: database, accounts, tokens, gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(url: str, instance: Path) -> str:
    """Return the URL of an empty database: a new SQLite file, or PostgreSQL's named one
    dropped and created again."""
    if not url:
        return f"sqlite:///{instance / 'crm.sqlite3'}"
    if url.startswith("postgresql"):
        import psycopg

        base, name = url.rsplit("/", 1)
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise SystemExit(f"load: not a plain database name: {name!r}")
        admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def app_env(url: str, instance: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(
        {
            "CRM_DATABASE_URL": url,
            "CRM_INSTANCE_PATH": str(instance),
            "CRM_SECRET_KEY": "load-" + "s" * 40,
            # One address signs in every simulated user and every token is busy: the
            # limits themselves are tested elsewhere, here they would only get in the way.
            "CRM_LOGIN_RATE_LIMIT": "100000 per minute",
            "CRM_API_RATE_LIMIT": "100000 per minute",
        }
    )
    env.update(extra or {})
    return env


def flask_cmd(env: dict, *args: str, stdin: str | None = None) -> str:
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run(
        [flask, "--app", "crm", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"load: flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def make_accounts(env: dict, staff: int, managers: int) -> list[dict]:
    """Accounts and their API tokens, through the app's own operations."""
    script = (
        "import json, sys\n"
        "from crm import create_app\n"
        "from crm.db import db\n"
        "from crm.auth.operations import create_user\n"
        "from crm.api.tokens import create_token\n"
        "staff, managers, password = json.load(sys.stdin)\n"
        "app = create_app()\n"
        "out = []\n"
        "with app.app_context():\n"
        "    for i in range(staff + managers):\n"
        "        role = 'manager' if i < managers else 'staff'\n"
        "        email = f'load{i}@example.org'\n"
        "        user = create_user(email=email, name=f'Load {i}', role=role,\n"
        "                           password=password)\n"
        "        db.session.flush()\n"
        "        _, token = create_token(user, 'load', None)\n"
        "        out.append({'email': email, 'role': role, 'token': token})\n"
        "    db.session.commit()\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        input=json.dumps([staff, managers, PASSWORD]),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"load: accounts failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def record_ids(env: dict) -> dict[str, list[int]]:
    script = (
        "import json\n"
        "from crm import create_app\n"
        "from crm.db import db\n"
        "from sqlalchemy import text\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    out = {t: [r[0] for r in db.session.execute(text(\n"
        "        f'SELECT id FROM {t} WHERE archived_at IS NULL ORDER BY id LIMIT 2000'))]\n"
        "        for t in ('partner', 'contact', 'agreement', 'project')}\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"load: reading ids failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def missing_creates(env: dict, names: list[str]) -> list[str]:
    """The names answered as saved that the database does not hold."""
    if not names:
        return []
    script = (
        "import json, sys\n"
        "from crm import create_app\n"
        "from crm.db import db\n"
        "from crm.partners.models import Partner\n"
        "names = json.load(sys.stdin)\n"
        "app = create_app()\n"
        "found = set()\n"
        "with app.app_context():\n"
        "    for i in range(0, len(names), 500):\n"
        "        chunk = names[i:i + 500]\n"
        "        found.update(db.session.scalars(\n"
        "            db.select(Partner.name_en).where(Partner.name_en.in_(chunk))))\n"
        "print(json.dumps(sorted(set(names) - found)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        input=json.dumps(names),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"load: checking creates failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_gunicorn(env: dict, port: int, workers: int, threads: int, log: Path):
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    env = dict(env, WEB_CONCURRENCY=str(workers))
    out = log.open("w")
    proc = subprocess.Popen(
        [
            gunicorn,
            "-c",
            "python:crm.gunicorn_conf",
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "crm.wsgi:app",
        ],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"load: gunicorn exited:\n{log.read_text()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"load: gunicorn did not answer:\n{log.read_text()}")


# ---------------------------------------------------------------------------------------
# The simulated user


class FormReader(HTMLParser):
    """The fields of each POST form on a page, as a browser would send them (text inputs,
    checked boxes, selected options, text areas)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self.fields: list[tuple[str, str]] | None = None
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = False
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.fields = []
            self.forms.append((a.get("action") or "", self.fields))
        if self.fields is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "y"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self.select, self.select_first, self.select_chosen = name, None, False
        elif tag == "option" and self.select:
            value = a.get("value") or ""
            if self.select_first is None:
                self.select_first = value
            if "selected" in a and not self.select_chosen:
                self.fields.append((self.select, value))
                self.select_chosen = True
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag):
        if self.fields is None:
            return
        if tag == "select" and self.select:
            if not self.select_chosen and self.select_first is not None:
                self.fields.append((self.select, self.select_first))
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.fields.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None
        elif tag == "form":
            self.fields = None

    def handle_data(self, data):
        if self.textarea:
            self.text += data


def form_fields(html: str, action: str | None = None) -> list[tuple[str, str]]:
    """The fields of the page's form posting to `action` (or to the page itself), else
    of its largest POST form."""
    reader = FormReader()
    reader.feed(html)
    forms = reader.forms
    if action is not None:
        forms = [f for f in forms if f[0] in ("", action)] or forms
    return max(forms, key=lambda f: len(f[1]))[1] if forms else []


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.created: list[str] = []
        self.outcomes: Counter = Counter()

    def add(self, action: str, status: int | str, seconds: float, detail: str = ""):
        with self.lock:
            self.times[action].append(seconds)
            self.statuses[status if isinstance(status, str) else f"{status // 100}xx"] += 1
            if isinstance(status, str) or status >= 500:
                self.failures.append(f"{action}: {status} {detail}"[:300])


class User(threading.Thread):
    def __init__(self, n, base, account, ids, hot, stats, deadline, seed):
        super().__init__(daemon=True)
        self.n, self.base, self.account, self.ids = n, base, account, ids
        self.hot, self.stats, self.deadline = hot, stats, deadline
        self.rng = random.Random(seed)
        self.web = requests.Session()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {account['token']}"

    # -- plumbing

    def call(self, action, session, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        start = time.perf_counter()
        try:
            try:
                resp = session.request(method, self.base + path, **kwargs)
            except requests.ConnectionError as exc:
                # A kept-alive connection the server closed (after `keepalive` seconds
                # idle) just as this request went out: like a browser, send it again
                # once on a new connection. A worker that died mid-request shows in the
                # server's log, which is checked apart.
                if "reset" not in str(exc).lower() and "aborted" not in str(exc).lower():
                    raise
                with self.stats.lock:
                    self.stats.outcomes["sent again after a closed keep-alive connection"] += 1
                resp = session.request(method, self.base + path, **kwargs)
        except requests.RequestException as exc:
            detail = f"{path} {exc}"
            self.stats.add(action, type(exc).__name__, time.perf_counter() - start, detail)
            return None
        self.stats.add(action, resp.status_code, time.perf_counter() - start, path)
        if resp.status_code >= 500:
            self.stats.failures[-1] += " " + re.sub(r"\s+", " ", resp.text[:200])
        return resp

    def sign_in(self) -> bool:
        page = self.call("login form", self.web, "GET", "/login")
        if page is None or page.status_code != 200:
            return False
        data = dict(form_fields(page.text, "/login"))
        data.update(email=self.account["email"], password=PASSWORD)
        resp = self.call("sign in", self.web, "POST", "/login", data=data)
        return resp is not None and resp.status_code == 302

    def pick(self, kind):
        return self.rng.choice(self.ids[kind]) if self.ids[kind] else 1

    # -- actions

    def list_page(self):
        path = self.rng.choice(
            [
                "/partners/",
                "/partners/?sort=updated&dir=desc",
                "/partners/?kind=university",
                "/contacts/",
                "/agreements/",
                "/projects/",
                "/activities/",
                "/follow-ups/",
                "/",
            ]
        )
        self.call("list", self.web, "GET", path)

    def record_page(self):
        kind = self.rng.choice(["partner", "contact", "agreement", "project"])
        self.call("record page", self.web, "GET", f"/{kind}s/{self.pick(kind)}")

    def search(self):
        q = self.rng.choice(SEARCH_WORDS)
        self.call("search", self.web, "GET", "/search", params={"q": q})

    def dashboard(self):
        if self.account["role"] == "manager":
            self.call("dashboard", self.web, "GET", "/dashboard/")
        else:
            self.list_page()

    def api_read(self):
        kind = self.rng.choice(["partners", "contacts", "agreements", "projects"])
        if self.rng.random() < 0.5:
            self.call("api list", self.api, "GET", f"/api/v1/{kind}")
        else:
            self.call("api get", self.api, "GET", f"/api/v1/{kind}/{self.pick(kind[:-1])}")

    def unique_name(self) -> str:
        # Random words, so the duplicate guard has no reason to stop the save.
        return f"Load {uuid.uuid4().hex[:12]} {secrets.token_hex(5)}"

    def api_create(self):
        name = self.unique_name()
        resp = self.call(
            "api create",
            self.api,
            "POST",
            "/api/v1/partners",
            json={"name_en": name, "kind": self.rng.choice(["company", "university"])},
        )
        if resp is not None and resp.status_code == 201:
            with self.stats.lock:
                self.stats.created.append(name)

    def form_create(self):
        page = self.call("form create", self.web, "GET", "/partners/new")
        if page is None or page.status_code != 200:
            return
        data = dict(form_fields(page.text, "/partners/new"))
        name = self.unique_name()
        data.update(name_en=name, kind="company", city="Taizhou")
        resp = self.call("form create", self.web, "POST", "/partners/new", data=data)
        if resp is not None and resp.status_code == 200 and 'name="save_anyway"' in resp.text:
            data = dict(form_fields(resp.text, "/partners/new"))
            data["save_anyway"] = "1"
            resp = self.call("form create", self.web, "POST", "/partners/new", data=data)
        if resp is not None and resp.status_code == 302:
            with self.stats.lock:
                self.stats.created.append(name)
                self.stats.outcomes["form create saved"] += 1

    def form_edit(self):
        """Edit one of the few partners everybody edits: saves conflict on purpose."""
        pid = self.rng.choice(self.hot)
        page = self.call("form edit", self.web, "GET", f"/partners/{pid}/edit")
        if page is None or page.status_code != 200:
            return
        fields = [
            (k, v) for k, v in form_fields(page.text, f"/partners/{pid}/edit") if k != "description"
        ]
        fields.append(("description", f"Edited by user {self.n} at {time.time():.3f}"))
        time.sleep(self.rng.random() * 0.5)  # reading the form
        resp = self.call("form edit", self.web, "POST", f"/partners/{pid}/edit", data=fields)
        if resp is not None:
            outcome = "saved" if resp.status_code == 302 else f"refused {resp.status_code}"
            if resp.status_code == 200:
                reason = re.search(
                    r'class="(?:invalid-feedback|alert[^"]*)"[^>]*>\s*([^<]{0,80})', resp.text
                )
                outcome += f" ({reason.group(1).strip() if reason else 'no message'})"
            with self.stats.lock:
                self.stats.outcomes[f"form edit {outcome}"] += 1

    def run(self):
        if not self.sign_in():
            with self.stats.lock:
                self.stats.failures.append(f"user {self.n} could not sign in")
            return
        actions = [
            (self.list_page, 25),
            (self.record_page, 20),
            (self.search, 15),
            (self.api_read, 15),
            (self.dashboard, 5),
            (self.api_create, 7),
            (self.form_create, 6),
            (self.form_edit, 7),
        ]
        funcs, weights = zip(*actions, strict=True)
        while time.monotonic() < self.deadline:
            self.rng.choices(funcs, weights)[0]()
            time.sleep(self.rng.random() * 0.2)  # a person between clicks, compressed


def slow_client(port: int, stop: threading.Event, stats: Stats):
    """Send a request's headers one byte at a time, as a slowloris client does."""
    request = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                for byte in request:
                    if stop.wait(1.0):
                        break
                    s.sendall(bytes([byte]))
        except OSError:
            with stats.lock:
                stats.outcomes["slow client reconnects"] += 1
            stop.wait(0.5)


# ---------------------------------------------------------------------------------------


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="crm-load-"))
    instance = workdir / "instance"
    instance.mkdir()
    url = fresh_database(args.database_url, instance)
    env = app_env(url, instance)
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    t0 = time.monotonic()
    flask_cmd(env, "db", "upgrade")
    if args.partners:
        flask_cmd(env, "demo", "--scale", str(args.partners))
    accounts = make_accounts(env, args.staff, args.managers)
    ids = record_ids(env)
    setup_s = time.monotonic() - t0
    port = args.port or free_port()
    log = workdir / "gunicorn.log"
    proc = start_gunicorn(env, port, args.workers, args.threads, log)
    stats = Stats()
    stop = threading.Event()
    slow = [
        threading.Thread(target=slow_client, args=(port, stop, stats), daemon=True)
        for _ in range(args.slow_clients)
    ]
    try:
        for t in slow:
            t.start()
        hot = ids["partner"][:3] or [1]
        start = time.monotonic()
        deadline = start + args.seconds
        users = [
            User(
                i,
                f"http://127.0.0.1:{port}",
                accounts[i % len(accounts)],
                ids,
                hot,
                stats,
                deadline,
                args.seed + i,
            )
            for i in range(args.users)
        ]
        for u in users:
            u.start()
            time.sleep(0.02)
        for u in users:
            u.join(timeout=args.seconds + 90)
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    missing = missing_creates(env, stats.created)
    for name in missing:
        stats.failures.append(f"created but not found: {name}")
    # A worker that timed out, crashed or was killed, or a traceback, is a failure even
    # when the client's second try succeeded.
    for line in log.read_text(errors="replace").splitlines():
        if re.search(r"WORKER TIMEOUT|Worker \(pid:\d+\) was sent|Traceback|\[ERROR\]", line):
            stats.failures.append(f"server log: {line.strip()}"[:300])
    all_times = [t for ts in stats.times.values() for t in ts]
    report = {
        "database": kind,
        "users": args.users,
        "seconds": round(elapsed, 1),
        "workers": args.workers,
        "threads": args.threads,
        "partners": args.partners,
        "slow_clients": args.slow_clients,
        "setup_seconds": round(setup_s, 1),
        "requests": len(all_times),
        "requests_per_second": round(len(all_times) / elapsed, 1) if elapsed else 0,
        "statuses": dict(stats.statuses),
        "server_errors": sum(1 for f in stats.failures if re.search(r": 5\d\d ", f)),
        "failures": len(stats.failures),
        "failure_examples": stats.failures[:15],
        "creates_confirmed": len(stats.created),
        "creates_missing": len(missing),
        "outcomes": dict(stats.outcomes),
        "p50_ms": round(percentile(all_times, 0.5) * 1000, 1),
        "p95_ms": round(percentile(all_times, 0.95) * 1000, 1),
        "actions": {
            name: {
                "n": len(ts),
                "p50_ms": round(statistics.median(ts) * 1000, 1),
                "p95_ms": round(percentile(ts, 0.95) * 1000, 1),
            }
            for name, ts in sorted(stats.times.items())
        },
    }
    if stats.failures:
        report["gunicorn_log_tail"] = log.read_text(errors="replace")[-3000:]
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def print_report(r: dict) -> None:
    print(
        f"{r['database']}: {r['users']} users x {r['seconds']} s, gunicorn {r['workers']} "
        f"workers x {r['threads']} threads, {r['partners']} partners, "
        f"{r['slow_clients']} slow clients (set-up {r['setup_seconds']} s)"
    )
    print(
        f"  {r['requests']} requests, {r['requests_per_second']} req/s, "
        f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms; statuses {r['statuses']}"
    )
    print(
        f"  answers >= 500: {r['server_errors']}; failures: {r['failures']}; "
        f"creates confirmed {r['creates_confirmed']}, missing {r['creates_missing']}"
    )
    print(f"  outcomes: {r['outcomes']}")
    for name, a in r["actions"].items():
        print(f"    {name:<12} {a['n']:>6}  p50 {a['p50_ms']:>7} ms  p95 {a['p95_ms']:>7} ms")
    for f in r["failure_examples"]:
        print(f"  FAIL {f}")
    if "gunicorn_log_tail" in r:
        print("  gunicorn log (tail):\n" + r["gunicorn_log_tail"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=os.environ.get("CRM_BENCH_DATABASE_URL", ""))
    p.add_argument("--users", type=int, default=40)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--partners", type=int, default=20000)
    p.add_argument("--staff", type=int, default=8)
    p.add_argument("--managers", type=int, default=2)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--slow-clients", type=int, default=8)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--json", help="also write the report to this file")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args(argv)
    report = run(args)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
