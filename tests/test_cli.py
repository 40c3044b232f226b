"""`flask --app crm user ...` and `flask --app crm check-deploy`."""

import os
import subprocess
import sys

from sqlalchemy import select

from crm.auth.models import User
from crm.cli import deploy_problems
from crm.db import db

PW = "a long cli password"


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def get(email):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_user_create_reads_password_from_stdin(app):
    result = run(
        app,
        "user",
        "create",
        "--email",
        "A@Example.org",
        "--name",
        "Ann",
        "--role",
        "manager",
        "--password-stdin",
        input=PW + "\n",
    )
    assert result.exit_code == 0, result.output
    user = get("a@example.org")
    assert (user.name, user.role) == ("Ann", "manager")
    assert user.check_password(PW)


def test_user_create_asks_twice_and_refuses_mismatch(app):
    result = run(
        app,
        "user",
        "create",
        "--email",
        "b@example.org",
        "--name",
        "B",
        input=f"{PW}\n{PW}x\n{PW}\n{PW}\n",
    )
    assert "do not match" in result.output
    assert result.exit_code == 0
    assert get("b@example.org").check_password(PW)


def test_user_create_refuses_short_password_and_duplicate(app):
    result = run(
        app,
        "user",
        "create",
        "--email",
        "c@example.org",
        "--name",
        "C",
        "--password-stdin",
        input="short\n",
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert get("c@example.org") is None
    run(
        app,
        "user",
        "create",
        "--email",
        "c@example.org",
        "--name",
        "C",
        "--password-stdin",
        input=PW + "\n",
    )
    result = run(
        app,
        "user",
        "create",
        "--email",
        "c@example.org",
        "--name",
        "C2",
        "--password-stdin",
        input=PW + "\n",
    )
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_user_list_set_role_deactivate_reset(app, users):
    email = users["staff"].email
    result = run(app, "user", "list")
    assert email in result.output and "staff" in result.output
    assert run(app, "user", "set-role", email, "manager").exit_code == 0
    assert get(email).role == "manager"
    old_token = get(email).session_token
    assert run(app, "user", "deactivate", email).exit_code == 0
    assert get(email).active is False and get(email).session_token != old_token
    assert "deactivated" in run(app, "user", "list").output
    assert run(app, "user", "reactivate", email).exit_code == 0
    assert get(email).active is True
    result = run(
        app, "user", "reset-password", email, "--password-stdin", input="new pass word 1\n"
    )
    assert result.exit_code == 0
    assert get(email).check_password("new pass word 1")
    assert run(app, "user", "deactivate", "nobody@example.org").exit_code != 0


def test_check_deploy_lists_every_unsafe_setting(app):
    app.config.update(
        DEBUG=True,
        SECRET_KEY="dev",
        SESSION_COOKIE_SECURE=False,
        MAX_CONTENT_LENGTH=None,
        RATELIMIT_STORAGE_URI="memory://",
    )
    problems = deploy_problems(app)
    text = "\n".join(problems)
    for expected in ("DEBUG", "SECRET_KEY", "Cookies", "MAX_CONTENT_LENGTH", "rate-limit store"):
        assert expected in text
    result = run(app, "check-deploy")
    assert result.exit_code == 1
    assert result.output.count("UNSAFE:") == len(problems)


def test_check_deploy_flags_sqlite_with_workers_without_wal(make_app, tmp_path):
    # An in-memory SQLite database cannot use WAL; a file database here always does.
    memory = make_app(SQLALCHEMY_DATABASE_URI="sqlite://", WORKERS=4)
    assert any("without WAL (journal_mode=memory)" in p for p in deploy_problems(memory))
    wal = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'wal.db'}", WORKERS=4)
    assert not any("without WAL" in p for p in deploy_problems(wal))
    single = make_app(SQLALCHEMY_DATABASE_URI="sqlite://", WORKERS=1)
    assert not any("without WAL" in p for p in deploy_problems(single))


def flask_cli(env_extra, tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(CRM_INSTANCE_PATH=str(tmp_path), CRM_DATABASE_URL=database_url, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "crm", "check-deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_command_fails_unsafe_and_passes_safe(tmp_path, database_url):
    unsafe = flask_cli({"CRM_ENV": "production", "CRM_SECURE_COOKIES": "0"}, tmp_path, database_url)
    assert unsafe.returncode == 1
    assert "Cookies are sent over plain HTTP" in unsafe.stdout
    assert "rate-limit store is per process" in unsafe.stdout
    safe = flask_cli(
        {
            "CRM_ENV": "production",
            "CRM_SECRET_KEY": "k3y-" + "a1b2c3d4e5f6g7h8" * 3,
            "CRM_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/4",
        },
        tmp_path,
        database_url,
    )
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert "OK: no unsafe production setting found." in safe.stdout


SAFE_PRODUCTION = {
    "CRM_ENV": "production",
    "CRM_SECRET_KEY": "k3y-" + "a1b2c3d4e5f6g7h8" * 3,
    "CRM_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/4",
}


def test_check_deploy_reports_debug_set_for_gunicorn(tmp_path, database_url):
    # The flask command resets DEBUG from FLASK_DEBUG; gunicorn would run with this one.
    result = flask_cli({**SAFE_PRODUCTION, "CRM_DEBUG": "1"}, tmp_path, database_url)
    assert result.returncode == 1
    assert "UNSAFE: DEBUG is on" in result.stdout
    (tmp_path / "config.py").write_text("DEBUG = True\n")
    result = flask_cli(SAFE_PRODUCTION, tmp_path, database_url)
    assert result.returncode == 1 and "UNSAFE: DEBUG is on" in result.stdout


def test_check_deploy_notes_a_missing_proxy_fix_without_failing(tmp_path, database_url):
    without = flask_cli(SAFE_PRODUCTION, tmp_path, database_url)
    assert without.returncode == 0, without.stdout + without.stderr
    assert "NOTICE: CRM_PROXY_FIX is 0" in without.stdout
    behind = flask_cli({**SAFE_PRODUCTION, "CRM_PROXY_FIX": "1"}, tmp_path, database_url)
    assert behind.returncode == 0 and "NOTICE" not in behind.stdout
    wrong = flask_cli({**SAFE_PRODUCTION, "CRM_PROXY_FIX": "yes"}, tmp_path, database_url)
    assert wrong.returncode != 0 and "CRM_PROXY_FIX must be a whole number" in wrong.stderr


def test_commands_are_wrapped_once_however_many_apps_are_made(make_app):
    """Each app registers the same command objects; the schema check wraps them once."""
    from crm.auth.cli import user_cli

    make_app()
    first = user_cli.invoke
    for _ in range(3):
        make_app()
    assert user_cli.invoke is first
