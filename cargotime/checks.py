"""System checks for the settings cargotime depends on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import load_backend
from django.utils.module_loading import import_string

from cargotime import conf
from cargotime.event_store_admin import admin_sites, editable_event_store

# The databases cargotime's SQL and locking are written and tested for.
SUPPORTED_VENDORS = ("sqlite", "postgresql")


@register()
def check_settings(
    *, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Report the settings under which cargotime cannot work."""
    messages: list[CheckMessage] = []
    if not apps.is_installed("eventsourcing_django"):
        messages.append(
            Error(
                "cargotime stores its events through eventsourcing_django, "
                "which is not in INSTALLED_APPS.",
                hint="Add 'eventsourcing_django' to INSTALLED_APPS, then migrate.",
                id="cargotime.E001",
            )
        )
    if not settings.USE_TZ:
        messages.append(
            Error(
                "USE_TZ is False: the timestamp index stores aware datetimes.",
                hint="Set USE_TZ = True.",
                id="cargotime.E002",
            )
        )
    options = conf.user_settings()
    if not isinstance(options, Mapping):
        messages.append(
            Error(
                f"CARGOTIME must be a dict, not {type(options).__name__}.",
                hint="Make CARGOTIME a dict of the keys the README lists, or omit it.",
                id="cargotime.E007",
            )
        )
        return messages
    return messages + _check_options(options)


def _check_options(options: Mapping[str, Any]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    name = options.get("APPLICATION_NAME", conf.DEFAULTS["APPLICATION_NAME"])
    limit = conf.MAX_APPLICATION_NAME_LENGTH
    if not isinstance(name, str) or not name or len(name) > limit:
        messages.append(
            Error(
                f"CARGOTIME['APPLICATION_NAME'] must be a name of 1 to {limit} "
                f"characters, not {name!r}.",
                hint=f"eventsourcing-django stores it in a {limit}-character column. "
                "Choose a shorter name; once events are stored, keep it.",
                id="cargotime.E003",
            )
        )
    alias = options.get("DATABASE_ALIAS", conf.DEFAULTS["DATABASE_ALIAS"])
    if alias not in settings.DATABASES:
        messages.append(
            Error(
                f"CARGOTIME['DATABASE_ALIAS'] is {alias!r}, which is not in DATABASES.",
                hint=f"Use one of: {', '.join(sorted(settings.DATABASES))}.",
                id="cargotime.E004",
            )
        )
    else:
        messages.extend(_check_database(alias))
    interval = options.get("SNAPSHOT_INTERVAL", conf.DEFAULTS["SNAPSHOT_INTERVAL"])
    valid = interval is None or (
        isinstance(interval, int) and not isinstance(interval, bool) and interval >= 0
    )
    if not valid:
        messages.append(
            Error(
                f"CARGOTIME['SNAPSHOT_INTERVAL'] must be a whole number of events "
                f"or None, not {interval!r}.",
                hint="Use a positive int such as 100, or None or 0 for no snapshots.",
                id="cargotime.E005",
            )
        )
    messages.extend(_check_clock(options.get("CLOCK")))
    if alias in settings.DATABASES:
        messages.extend(_check_read_alias(alias, options.get("READ_DATABASE_ALIAS")))
    messages.extend(
        _check_read_wait(
            options.get("READ_REPLICA_MAX_WAIT", conf.DEFAULTS["READ_REPLICA_MAX_WAIT"])
        )
    )
    unknown = sorted(set(options) - set(conf.DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f"CARGOTIME has unknown keys: {', '.join(map(repr, unknown))}.",
                hint=f"The known keys are {', '.join(sorted(conf.DEFAULTS))}.",
                id="cargotime.W001",
            )
        )
    return messages


def _check_clock(clock: Any) -> list[CheckMessage]:
    if isinstance(clock, str):
        try:
            clock = import_string(clock)
        except ImportError as error:
            return [
                Error(
                    f"CARGOTIME['CLOCK'] cannot be imported: {error}",
                    hint="Give the dotted path of a callable, e.g. 'mysite.clock.now'.",
                    id="cargotime.E006",
                )
            ]
    if clock is not None and not callable(clock):
        return [
            Error(
                f"CARGOTIME['CLOCK'] must be callable, not {clock!r}.",
                hint="Give a function that returns an aware datetime, or its "
                "dotted path, or None for the current UTC time.",
                id="cargotime.E006",
            )
        ]
    return []


def _check_read_alias(write_alias: str, read_alias: Any) -> list[CheckMessage]:
    if read_alias is None or read_alias == write_alias:
        return []
    if not isinstance(read_alias, str) or read_alias not in settings.DATABASES:
        return [
            Error(
                f"CARGOTIME['READ_DATABASE_ALIAS'] is {read_alias!r}, which is not "
                "in DATABASES.",
                hint=f"Use one of: {', '.join(sorted(settings.DATABASES))}, or None "
                "to read where cargotime writes.",
                id="cargotime.E009",
            )
        ]
    write_vendor = _vendor(_engine(write_alias))
    read_vendor = _vendor(_engine(read_alias))
    if read_vendor != write_vendor:
        return [
            Error(
                f"CARGOTIME['READ_DATABASE_ALIAS'] is {read_alias!r}, a {read_vendor} "
                f"database, but cargotime writes to {write_alias!r}, a "
                f"{write_vendor} one.",
                hint="Point READ_DATABASE_ALIAS at a streaming replica of the "
                "database DATABASE_ALIAS names.",
                id="cargotime.E010",
            )
        ]
    if read_vendor != "postgresql":
        return [
            Error(
                f"CARGOTIME['READ_DATABASE_ALIAS'] is {read_alias!r}, another "
                f"{read_vendor} database than {write_alias!r}: only PostgreSQL's "
                "streaming replicas can be read in its place.",
                hint="Remove READ_DATABASE_ALIAS, or set it to None: reads then go "
                "where cargotime writes.",
                id="cargotime.E011",
            )
        ]
    if _server_and_name(read_alias) == _server_and_name(write_alias):
        return [
            Warning(
                f"CARGOTIME['READ_DATABASE_ALIAS'] is {read_alias!r}, which names the "
                f"same server and database as {write_alias!r}: it replays nothing, "
                "so each read asks it in vain, and the primary serves.",
                hint="Point the alias at the streaming replica's HOST or PORT, or "
                "set READ_DATABASE_ALIAS to None.",
                id="cargotime.W004",
            )
        ]
    return []


def _server_and_name(alias: str) -> tuple[str, str, str]:
    # libpq's defaults fill what the settings leave out.
    database = settings.DATABASES[alias]
    host = str(database.get("HOST") or "localhost").lower()
    return host, str(database.get("PORT") or 5432), str(database.get("NAME") or "")


def _check_read_wait(wait: Any) -> list[CheckMessage]:
    number = isinstance(wait, int | float) and not isinstance(wait, bool)
    longest = conf.MAX_READ_REPLICA_WAIT
    if number and math.isfinite(wait) and 0 <= wait <= longest:
        return []
    return [
        Error(
            f"CARGOTIME['READ_REPLICA_MAX_WAIT'] must be a number of seconds from 0 "
            f"to {longest:g}, not {wait!r}.",
            hint="How long a read waits for the replica to catch up before the "
            "primary serves it; the default is 0.2. A longer wait would hold the "
            "request past gunicorn's worker timeout.",
            id="cargotime.E012",
        )
    ]


def _engine(alias: str) -> str:
    # As Django does, an entry without an ENGINE gets the dummy backend.
    return str(settings.DATABASES[alias].get("ENGINE") or "django.db.backends.dummy")


def _check_database(alias: str) -> list[CheckMessage]:
    vendor = _vendor(_engine(alias))
    if vendor in SUPPORTED_VENDORS:
        return []
    return [
        Error(
            f"cargotime keeps its events in the database {alias!r}, which is "
            f"{vendor}: cargotime works only on SQLite and PostgreSQL.",
            hint="Point CARGOTIME['DATABASE_ALIAS'] at a SQLite or PostgreSQL "
            "database. Its index writes and locking are built for those two, and "
            "saving fails on any other.",
            id="cargotime.E008",
        )
    ]


def _vendor(engine: str) -> str:
    # The backend class names its vendor, without connecting: PostGIS is
    # "postgresql". A backend whose driver is missing is named by its module.
    try:
        return str(load_backend(engine).DatabaseWrapper.vendor)
    except (ImportError, ImproperlyConfigured):
        return engine.rpartition(".")[2]


@register(Tags.admin)
def check_event_store_admin(
    *, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn where an admin site still lets anyone edit the event store."""
    return [
        Warning(
            f"The admin site {site.name!r} lets users add, change or delete "
            f"{model._meta.label} records: stored history is append-only.",
            hint="Keep 'cargotime' in INSTALLED_APPS after 'django.contrib.admin' "
            "and register event-store models before its ready() runs, or give "
            "their ModelAdmin cargotime.event_store_admin.ViewOnly as its first "
            "base class.",
            obj=model,
            id="cargotime.W002",
        )
        for site in admin_sites()
        for model in editable_event_store(site)
    ]


@register()
def check_pooler(
    *, app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn where a database behind a transaction pooler still prepares statements."""
    options = conf.user_settings()
    if not isinstance(options, Mapping):
        return []
    write = options.get("DATABASE_ALIAS", conf.DEFAULTS["DATABASE_ALIAS"])
    read = options.get("READ_DATABASE_ALIAS") or write
    # The recorder's statements run on both; dict.fromkeys keeps one of each.
    return [
        message
        for alias in dict.fromkeys([write, read])
        for message in _check_prepared_statements(alias)
    ]


def _check_prepared_statements(alias: Any) -> list[CheckMessage]:
    database = settings.DATABASES.get(alias) if isinstance(alias, str) else None
    if not database or _vendor(str(database.get("ENGINE") or "")) != "postgresql":
        return []
    threshold = (database.get("OPTIONS") or {}).get("prepare_threshold")
    # Django's own sign of a transaction-mode pooler in front of the database.
    if not database.get("DISABLE_SERVER_SIDE_CURSORS") or threshold is None:
        return []
    return [
        Warning(
            f"The database {alias!r} has DISABLE_SERVER_SIDE_CURSORS, as behind a "
            "transaction-mode pooler, but OPTIONS['prepare_threshold'] is "
            f"{threshold!r}: psycopg then prepares cargotime's statements by name on "
            "one server connection, and the pooler may run the next one on another.",
            hint="Remove 'prepare_threshold' from OPTIONS (Django's default, None, "
            "prepares nothing), unless the pooler keeps prepared statements itself "
            "(PgBouncer 1.21 or newer with max_prepared_statements set).",
            id="cargotime.W003",
        )
    ]
