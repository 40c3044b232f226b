"""The WSGI entry point for gunicorn: `gunicorn 'crm.wsgi:app'`.

A deployment whose schema is behind refuses to start, naming the command that fixes it.
"""

import sys

from crm import create_app
from crm.schema import SchemaBehind, require_current_schema

app = create_app()
with app.app_context():
    try:
        require_current_schema()
    except SchemaBehind as exc:
        print(f"crm: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(3) from exc
