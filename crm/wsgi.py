"""The WSGI entry point for gunicorn: `gunicorn 'crm.wsgi:app'`.

A deployment whose schema is behind refuses to start, naming the command that fixes it; so
does one with a setting that cannot be used, naming the setting.
"""

import sys

from crm import create_app
from crm.availability import database_unavailable
from crm.config import ConfigError
from crm.db import db
from crm.schema import SchemaBehind, require_current_schema

try:
    app = create_app()
except ConfigError as exc:
    # Exit code 3 makes gunicorn stop ("worker failed to boot") instead of retrying.
    print(f"crm: the configuration is not valid.\n{exc}", file=sys.stderr, flush=True)
    raise SystemExit(3) from None
with app.app_context():
    try:
        require_current_schema()
    except SchemaBehind as exc:
        print(f"crm: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(3) from exc
    except Exception as exc:
        # The database is down while this worker starts: serve 503s until it is back
        # (create_app installed the schema gate) rather than stopping every worker.
        if not database_unavailable(exc):
            raise
        print(f"crm: the database is not answering yet: {exc}", file=sys.stderr, flush=True)
    finally:
        db.session.remove()
