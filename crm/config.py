"""Configuration defaults and the CRM_* environment layer.

The order is fixed by `create_app`: these defaults, then `instance/config.py`, then
`CRM_*` environment variables, then the overrides passed to the factory.
"""

import json
import math
import os
from datetime import timedelta

from limits import parse_many

# Short names accepted in the environment for the Flask/extension keys they set.
ENV_ALIASES = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI",),
    "SECURE_COOKIES": ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"),
}

ROLES = ("staff", "manager", "admin")
ROLE_LEVEL = {"staff": 1, "manager": 2, "admin": 3}
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
    # Failed sign-ins only. Per client address: generous, as an office signs in from one
    # address; per account (the email typed): the main brake on guessing a password.
    LOGIN_RATE_LIMIT = "30 per minute;300 per hour"
    LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute;20 per hour"
    API_RATE_LIMIT = "300 per minute;10000 per hour"  # per API token
    FEED_RATE_LIMIT = "60 per minute"  # calendar feed fetches per address
    BOOTSTRAP_SERVE_LOCAL = True
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    WORKERS = 1  # or WEB_CONCURRENCY, read with the environment
    PROXY_FIX = 0  # how many proxies in front of the app set X-Forwarded-For/-Proto
    WTF_CSRF_ENABLED = True
    DASHBOARD_CACHE_SECONDS = 300.0
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


class ConfigError(Exception):
    """A setting that cannot be used: the message names each one and what it should be."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


ENVIRONMENTS = ("development", "production")

# CRM_* variables that are not settings: read by create_app, the tests, CI and benchmarks.
OTHER_VARIABLES = frozenset(
    {
        "CRM_ENV",
        "CRM_INSTANCE_PATH",
        "CRM_TEST_DATABASE_URL",
        "CRM_REQUIRE_BROWSER",
        "CRM_CHROMIUM",
        "CRM_SCREENSHOTS",
        "CRM_FUZZ_EXAMPLES",
        "CRM_FUZZ_RANDOM",
    }
)
OTHER_PREFIXES = ("CRM_BENCH_",)

# Settings the extensions read with defaults of their own (so not in `Defaults`): the
# value here only says how CRM_<NAME> is parsed.
EXTENSION_SETTINGS = {
    "SQLALCHEMY_ECHO": False,
    "SQLALCHEMY_RECORD_QUERIES": False,
    "WTF_CSRF_SSL_STRICT": True,
    "RATELIMIT_STRATEGY": "fixed-window",
    "RATELIMIT_KEY_PREFIX": "",
    "RATELIMIT_STORAGE_OPTIONS": {},
    "RATELIMIT_SWALLOW_ERRORS": False,
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
}

# The type of settings whose default is None ("" or "none" sets them back to None).
OPTIONAL_TYPES = {
    "DEBUG": bool,
    "PROPAGATE_EXCEPTIONS": bool,
    "TRAP_BAD_REQUEST_ERRORS": bool,
    "TEMPLATES_AUTO_RELOAD": bool,
    "SEND_FILE_MAX_AGE_DEFAULT": int,
    "MAX_CONTENT_LENGTH": int,
    "WTF_CSRF_TIME_LIMIT": int,
    "TRUSTED_HOSTS": list,
    "SECRET_KEY_FALLBACKS": list,
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}

RATE_LIMIT_SETTINGS = (
    "LOGIN_RATE_LIMIT",
    "LOGIN_ACCOUNT_RATE_LIMIT",
    "API_RATE_LIMIT",
    "FEED_RATE_LIMIT",
)
POSITIVE_SETTINGS = ("WORKERS", "PAGE_SIZE", "COUNT_CAP", "IMPORT_CHUNK_ROWS", "EXPORT_BATCH_ROWS")


def _parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("1, true, yes or on to turn it on; 0, false, no or off to turn it off")


def _parse_int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("a whole number") from None


def _parse_float(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("a number") from None
    if not math.isfinite(value):
        raise ValueError("a finite number")
    return value


def _parse_dict(raw: str) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError('a JSON object such as {"pool_size": 10}')
    return value


def _parse_list(raw: str) -> list:
    if raw.lstrip().startswith("["):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, list):
            raise ValueError('a JSON array such as ["a", "b"], or values separated by commas')
        return value
    return [part.strip() for part in raw.split(",") if part.strip()]


def _parse_seconds(raw: str) -> timedelta:
    return timedelta(seconds=_parse_int(raw))


def _parser_for(key: str, current):
    """How a CRM_* text becomes the value of `key`, judged by the value it replaces."""
    if current is None:
        kind = OPTIONAL_TYPES.get(key, str)
        parse = {bool: _parse_bool, int: _parse_int, list: _parse_list}.get(kind)
        if parse is None:
            return str
        return lambda raw: None if raw.strip().lower() in {"", "none"} else parse(raw)
    if isinstance(current, bool):
        return _parse_bool
    if isinstance(current, int):
        return _parse_int
    if isinstance(current, float):
        return _parse_float
    if isinstance(current, dict):
        return _parse_dict
    if isinstance(current, list | tuple | set | frozenset):
        return _parse_list
    if isinstance(current, timedelta):
        return _parse_seconds
    return str


def is_other_variable(name: str) -> bool:
    """A CRM_* variable read outside the settings (tests, CI, benchmarks, create_app)."""
    return name in OTHER_VARIABLES or name.startswith(OTHER_PREFIXES)


def load_environment(config, environ=None) -> None:
    """Apply every CRM_* variable to `config` (CRM_DATABASE_URL, CRM_SECRET_KEY, ...).

    Each value is parsed by the type of the setting it replaces; an unknown CRM_* name or
    a value that does not parse raises ConfigError naming every such variable at once, so
    a typo stops the start instead of being ignored or kept as text.
    """
    environ = os.environ if environ is None else environ
    problems = []
    env = environ.get("CRM_ENV")
    if env is not None and env not in ENVIRONMENTS:
        problems.append(f"CRM_ENV must be one of {', '.join(ENVIRONMENTS)}; it is {env!r}.")
    if "CRM_WORKERS" not in environ and (environ.get("WEB_CONCURRENCY") or "").strip():
        try:
            config["WORKERS"] = _parse_int(environ["WEB_CONCURRENCY"])
        except ValueError as exc:
            problems.append(f"WEB_CONCURRENCY must be {exc}; it is {environ['WEB_CONCURRENCY']!r}.")
    for name, raw in sorted(environ.items()):
        if not name.startswith("CRM_") or is_other_variable(name):
            continue
        key = name[4:]
        targets = ENV_ALIASES.get(key, (key,))
        known = key in ENV_ALIASES or key in config or key in EXTENSION_SETTINGS
        if not known:
            problems.append(
                f"{name} is not a setting of this CRM (a typo?). "
                "See the configuration table in README.md."
            )
            continue
        for target in targets:
            current = config.get(target, EXTENSION_SETTINGS.get(target))
            try:
                config[target] = _parser_for(target, current)(raw)
            except ValueError as exc:
                problems.append(f"{name} must be {exc}; it is {raw!r}.")
                break
    if problems:
        raise ConfigError(problems)


def validate(config) -> None:
    """Refuse values of the right type that still cannot work, whatever layer set them."""
    problems = []
    proxies = config.get("PROXY_FIX")
    if isinstance(proxies, bool) or not isinstance(proxies, int) or not 0 <= proxies <= 10:
        problems.append(
            "PROXY_FIX (CRM_PROXY_FIX) must be the number of proxies in front of the app "
            f"that set X-Forwarded-For, from 0 (none) to 10; it is {proxies!r}."
        )
    for key in POSITIVE_SETTINGS:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(
                f"{key} (CRM_{key}) must be a whole number of 1 or more; it is {value!r}."
            )
    for key in RATE_LIMIT_SETTINGS:
        value = config.get(key)
        try:
            if not isinstance(value, str) or not parse_many(value):
                raise ValueError(value)
        except ValueError:
            problems.append(
                f"{key} (CRM_{key}) must be rate limits such as '10 per minute;50 per hour'; "
                f"it is {value!r}."
            )
    choices = {"LOG_FORMAT": ("text", "json"), "LOG_LEVEL": ("DEBUG", "INFO", "WARNING", "ERROR")}
    for key, allowed in choices.items():
        value = config.get(key)
        if not isinstance(value, str) or value.strip() not in allowed:
            problems.append(
                f"{key} (CRM_{key}) must be one of {', '.join(allowed)}; it is {value!r}."
            )
    if problems:
        raise ConfigError(problems)


def stop_command_line(exc: ConfigError) -> None:
    """Under the `flask` command, print the problem and exit non-zero, without a traceback.

    Flask's command loader would print the traceback and go on (`--help` exits 0).
    Anywhere else (tests, crm.wsgi) the caller gets the ConfigError.
    """
    import click
    from flask.cli import FlaskGroup

    ctx = click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.find_root().command, FlaskGroup):
        return
    click.echo(f"Error: the configuration is not valid.\n{exc}", err=True)
    raise SystemExit(2)
