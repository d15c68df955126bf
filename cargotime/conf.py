"""cargotime's settings: one CARGOTIME dict, read when needed, with defaults here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.utils.module_loading import import_string
from eventsourcing.domain import datetime_now_with_tzinfo

from cargotime.application import APPLICATION_NAME, DEFAULT_SNAPSHOT_INTERVAL, Clock

DEFAULTS: Mapping[str, Any] = {
    # Stored events carry this name; eventsourcing-django keeps it in 32 characters.
    "APPLICATION_NAME": APPLICATION_NAME,
    "DATABASE_ALIAS": "default",
    # Time travel, the timeline, the picker and the Fleet page read here; None: the
    # write alias. A replica serves a read only once it has replayed what the
    # primary had written when the read began, waiting at most READ_REPLICA_MAX_WAIT
    # seconds for that; otherwise the primary serves it.
    "READ_DATABASE_ALIAS": None,
    "READ_REPLICA_MAX_WAIT": 0.2,
    # A snapshot every this many events of a cargo; None or 0 takes none.
    "SNAPSHOT_INTERVAL": DEFAULT_SNAPSHOT_INTERVAL,
    # A callable returning an aware datetime, or its dotted path; None: aware UTC now.
    "CLOCK": None,
}

MAX_APPLICATION_NAME_LENGTH = 32
# The longest a read waits for the replica: gunicorn's default worker timeout, past
# which the worker would be killed mid-request (cargotime.E012 refuses more).
MAX_READ_REPLICA_WAIT = 30.0


def user_settings() -> Mapping[str, Any]:
    """Return the CARGOTIME dict as the project set it (empty when it did not)."""
    return cast(Mapping[str, Any], getattr(settings, "CARGOTIME", None) or {})


def get(name: str) -> Any:
    """Return the setting *name*, or its default."""
    return user_settings().get(name, DEFAULTS[name])


def application_name() -> str:
    """Return the name the application's events are stored under."""
    return str(get("APPLICATION_NAME"))


def database_alias() -> str:
    """Return the alias of the database that holds the events and the index."""
    return str(get("DATABASE_ALIAS"))


def read_database_alias() -> str:
    """Return the alias reads go to once it has caught up (default: the write one)."""
    alias = get("READ_DATABASE_ALIAS")
    return database_alias() if alias is None else str(alias)


def read_replica_max_wait() -> float:
    """Return how many seconds a read waits for the replica to catch up."""
    # Bounded here too: checks do not run under gunicorn, and a wait of NaN, inf or
    # 1e308 seconds would hold the request for good.
    value = get("READ_REPLICA_MAX_WAIT")
    try:
        seconds = math.nan if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if math.isnan(seconds):
        return float(DEFAULTS["READ_REPLICA_MAX_WAIT"])
    return min(max(seconds, 0.0), MAX_READ_REPLICA_WAIT)


def snapshot_interval() -> int | None:
    """Return how many events of a cargo lie between snapshots (None: no snapshots)."""
    interval = get("SNAPSHOT_INTERVAL")
    return int(interval) if interval else None


def clock() -> Clock:
    """Return the clock that stamps new events."""
    value = get("CLOCK")
    if value is None:
        return datetime_now_with_tzinfo
    if isinstance(value, str):
        value = import_string(value)
    if not callable(value):
        msg = f"CARGOTIME['CLOCK'] must be callable or a dotted path, not {value!r}."
        raise TypeError(msg)
    return cast(Clock, value)
