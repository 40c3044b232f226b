"""Configuration defaults and the CRM_* environment layer.

The order is fixed by `create_app`: these defaults, then `instance/config.py`, then
`CRM_*` environment variables, then the overrides passed to the factory.
"""

import os

# Short names accepted in the environment for the Flask/extension keys they set.
ENV_ALIASES = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI",),
    "SECURE_COOKIES": ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"),
}

ROLES = ("staff", "manager", "admin")
LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}


class Defaults:
    """Settings for development and the embedded SQLite default."""

    ENV_NAME = "development"
    DEBUG = False
    SECRET_KEY = None  # generated once into instance/ when not configured
    SQLALCHEMY_DATABASE_URI = None  # SQLite under instance/ when not configured
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    AUTO_UPGRADE = True  # SQLite upgrades its schema on start; PostgreSQL never does
    SQLITE_IMMEDIATE_OUTSIDE_REQUESTS = True  # CLI writes take the lock up front
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    IMPORT_MAX_BYTES = 15 * 1024 * 1024  # an import file; the request around it must fit too
    IMPORT_CHUNK_ROWS = 200  # rows per "run next chunk" request, each in its own transaction
    EXPORT_BATCH_ROWS = 1000  # rows read per keyset batch while an export streams
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    API_RATE_LIMIT = "300 per minute;10000 per hour"  # per API token
    FEED_RATE_LIMIT = "60 per minute"  # calendar feed fetches per address
    BOOTSTRAP_SERVE_LOCAL = True
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    WORKERS = int(os.environ.get("WEB_CONCURRENCY", "1") or 1)
    PAGE_SIZE = 50
    COUNT_CAP = 10_000
    # Documents: the largest file accepted, and where files live (instance/documents if unset).
    DOCUMENT_MAX_BYTES = 25 * 1024 * 1024
    DOCUMENTS_PATH = None
    LOG_FORMAT = "text"  # or "json": one object per line (crm/logs.py)
    LOG_LEVEL = "INFO"


class Production(Defaults):
    """Settings for a deployment behind HTTPS; selected with CRM_ENV=production."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    AUTO_UPGRADE = False


def _coerce(raw: str, current):
    """Turn an environment string into the type of the value it replaces."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    return raw


def load_environment(config, environ=None) -> None:
    """Apply every CRM_* variable to `config` (CRM_DATABASE_URL, CRM_SECRET_KEY, ...)."""
    environ = os.environ if environ is None else environ
    for name, raw in environ.items():
        if not name.startswith("CRM_") or name in {"CRM_ENV", "CRM_INSTANCE_PATH"}:
            continue
        key = name[4:]
        for target in ENV_ALIASES.get(key, (key,)):
            config[target] = _coerce(raw, config.get(target))
