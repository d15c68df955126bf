"""Settings of the cargotime demo project.

A SQLite file by default; DATABASE_URL=postgres://user:pass@host:port/name selects
PostgreSQL, and DATABASE_POOLER=transaction says that it names a transaction-mode
pooler such as PgBouncer; DATABASE_REPLICA_URL names a streaming replica to read from,
and DATABASE_CONN_MAX_AGE keeps connections open that many seconds. Production-safe
unless the environment says otherwise: DJANGO_SECRET_KEY is required, and DJANGO_DEBUG=1
turns on development mode. Variables that the environment lacks are read from
BASE_DIR/.env if there is one (`make run` writes one with both).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_LINE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)")


def read_env_file(path: Path) -> None:
    """Add the KEY=VALUE lines of *path* to os.environ; the environment's own win."""
    # Into os.environ, as python-dotenv does, so that what reads the environment later
    # (eventsourcing's CIPHER_KEY, runserver's reloaded process) sees the same values.
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found = ENV_LINE.fullmatch(line.strip())
        if not found:
            # The line itself may hold a secret: name it by its number only.
            raise ImproperlyConfigured(f"{path}, line {number}: expected KEY=VALUE.")
        value = found["value"]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(found["key"], value)


read_env_file(BASE_DIR / ".env")


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0 (true or false), not {value!r}.")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {value!r}."
        ) from None


DEBUG = env_flag("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
# A blank key counts as none: Django would sign sessions with whitespace.
if not SECRET_KEY.strip():
    if not DEBUG:
        problem = "is only whitespace" if SECRET_KEY else "is not set"
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY {problem}. In production, set it to a long random "
            "value, such as the output of: python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'. For local development, run "
            "`make run` once: it writes a git-ignored .env with a development key, "
            "which every manage.py command in this folder reads."
        )
    SECRET_KEY = "django-insecure-cargotime-development-only"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

if not DEBUG:
    # HTTPS only; behind a proxy that terminates TLS, see SECURE_PROXY_SSL_HEADER below.
    SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 3600)
    # Off unless the deployer turns them on, as in Django: they bind every subdomain of
    # the domain to HTTPS, preload for good (and the list wants a max-age of a year).
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag(
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False
    )
    SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD", False)
    # `check --deploy` would ask for both; whether the whole domain is HTTPS only is a
    # decision the deployer makes with the two variables above, not a project default.
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
if env_flag("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets this header itself, overwriting the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    # Before staticfiles: runserver then serves static files the way production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "eventsourcing_django",
    "cargotime",
    "project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session, before CommonMiddleware: Accept-Language picks the language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "project.wsgi.application"


def database_from_url(name: str, url: str) -> dj_database_url.DBConfig:
    """Return the DATABASES entry the URL in the variable *name* describes."""
    try:
        return dj_database_url.parse(url)
    except (ValueError, dj_database_url.UnknownSchemeError):
        # Its text may hold a password: name the variable, not the URL.
        raise ImproperlyConfigured(
            f"{name} is no database URL: expected postgres://USER:PASSWORD@HOST:PORT/"
            "NAME (characters such as @ or / in the password %-encoded), or "
            "sqlite:///PATH."
        ) from None


DATABASES = {
    # An empty DATABASE_URL means the default, as an unset one does.
    "default": database_from_url(
        "DATABASE_URL",
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock up front: concurrent writers wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

# DATABASE_POOLER=transaction: DATABASE_URL names a pooler that hands each transaction
# to any server connection (PgBouncer's pool_mode = transaction), so nothing may
# outlive a transaction on the server: no named prepared statements (Django's default
# already, kept even if OPTIONS asked for them), and no cursors held open across
# transactions, which .iterator() outside a transaction would declare.
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in {"", "transaction"}:
    raise ImproperlyConfigured(
        "DATABASE_POOLER must be 'transaction' (PgBouncer's pool_mode = transaction "
        f"in front of DATABASE_URL) or unset, not {DATABASE_POOLER!r}."
    )
if DATABASE_POOLER and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise ImproperlyConfigured(
        "DATABASE_POOLER is set, but DATABASE_URL names no PostgreSQL server: set "
        "DATABASE_URL to the pooler's postgres:// address, or unset DATABASE_POOLER."
    )
if DATABASE_POOLER == "transaction":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None

# DATABASE_REPLICA_URL=postgres://…: a streaming replica of DATABASE_URL's server. Time
# travel, the timeline, the picker and the Fleet page read from it whenever it has
# replayed all the primary had written when the read began; otherwise the primary
# serves them. Everything else, and every write, goes to DATABASE_URL.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "").strip()
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = database_from_url(
        "DATABASE_REPLICA_URL", DATABASE_REPLICA_URL
    )
    postgresql = "django.db.backends.postgresql"
    if {DATABASES["default"]["ENGINE"], DATABASES["replica"]["ENGINE"]} != {postgresql}:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL names a streaming replica of DATABASE_URL's "
            "PostgreSQL server: set both to postgres:// addresses, or unset "
            "DATABASE_REPLICA_URL."
        )
    if not DATABASES["replica"]["NAME"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL names no database: end it with /NAME, the name of "
            "DATABASE_URL's database."
        )

    def server_and_name(database: dj_database_url.DBConfig) -> tuple[str, str, str]:
        # libpq's defaults fill what a URL leaves out.
        host = str(database["HOST"] or "localhost").lower()
        return host, str(database["PORT"] or 5432), str(database["NAME"])

    if server_and_name(DATABASES["replica"]) == server_and_name(DATABASES["default"]):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL names the same server and database as DATABASE_URL: "
            "point it at the streaming replica's host or port, or unset it."
        )
    # A replica that does not answer costs a read this long (psycopg's own default
    # is 130 s), and then the primary serves it; the URL's ?connect_timeout= wins.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    CARGOTIME = {"READ_DATABASE_ALIAS": "replica"}

# DATABASE_CONN_MAX_AGE=60: each worker keeps its database connections that many seconds
# and checks them before reuse, instead of logging in again for every request (0, the
# default, as Django's).
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 0)
if DATABASE_CONN_MAX_AGE < 0:
    raise ImproperlyConfigured(
        f"DATABASE_CONN_MAX_AGE must be 0 or more seconds, not {DATABASE_CONN_MAX_AGE}."
    )
for _database in DATABASES.values():
    _database["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
    _database["CONN_HEALTH_CHECKS"] = DATABASE_CONN_MAX_AGE > 0

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The languages cargotime ships: a browser that asks for German gets German.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production WhiteNoise serves the files `collectstatic` gathered, compressed and
    # with hashed names that browsers may cache for good.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Twelve-factor: logs go to stderr, for whatever runs the process to keep. Django's own
# default prints errors only with DEBUG on, and otherwise mails them to ADMINS (none).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "stderr": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "stderr"},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        # Replaces Django's handlers for it; its errors carry their tracebacks.
        "django": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
