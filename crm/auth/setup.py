"""The one-time setup code that guards the "Create the first administrator" page.

Whoever reaches a fresh server first must not be able to claim it: the code is printed to
the console of the process that started with no account and written to `instance/`, so
only someone with access to the machine can read it. Every worker shares the same file.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from pathlib import Path

from flask import Flask

SETUP_FILE = "setup-code"


def setup_code_path(app: Flask) -> Path:
    return Path(app.instance_path) / SETUP_FILE


def ensure_setup_code(app: Flask) -> str:
    """Return the setup code, creating it (mode 0600) if no process has yet."""
    path = setup_code_path(app)
    code = "-".join(secrets.token_hex(3) for _ in range(3))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(code + "\n")
    return code


def announce_setup_code(app: Flask) -> None:
    code = ensure_setup_code(app)
    print(
        "\n  No account exists yet. Open the app in a browser and create the first "
        f"administrator with this setup code:\n\n      {code}\n\n"
        f"  (also written to {setup_code_path(app)})\n",
        file=sys.stderr,
        flush=True,
    )


def check_setup_code(app: Flask, given: str) -> bool:
    path = setup_code_path(app)
    if not path.exists():
        return False
    expected = path.read_text(encoding="ascii").strip()
    return hmac.compare_digest(expected.encode(), (given or "").strip().lower().encode())


def clear_setup_code(app: Flask) -> None:
    setup_code_path(app).unlink(missing_ok=True)
