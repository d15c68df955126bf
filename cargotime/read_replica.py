"""Where a read goes: to the replica once it has caught up, else to the primary."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import django.db
from django.core.signals import setting_changed
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from eventsourcing import persistence

from cargotime import conf
from cargotime.application import SearchableTimestampsApplication

logger = logging.getLogger(__name__)

# The first pause between two looks at the replica's replay, doubled up to the last.
FIRST_POLL = 0.001
LONGEST_POLL = 0.02
# After a replica failed to answer, or proved to be no replica, the primary serves
# for this many seconds without asking it again: a replica that is down costs one
# read its connect timeout, not every read, and logs one warning in that time.
RETRY_AFTER = 5.0

# Per alias, the time.monotonic() before which the replica is not asked.
_resting: dict[str, float] = {}


# What a replica that fails mid-read raises: Django's errors, or the recorders'
# wrapping of them. Down, restarted, promoted, or a query cancelled for a conflict
# with recovery: the primary answers the same read.
REPLICA_FAILURES = (
    django.db.OperationalError,
    django.db.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
)


def read_application() -> SearchableTimestampsApplication:
    """Return the application to read with, on the alias read_alias() chooses."""
    from cargotime.apps import get_reader

    return get_reader(read_alias())


def read_with_fallback[T](read: Callable[[SearchableTimestampsApplication], T]) -> T:
    """Return read(app) on read_alias()'s, or on the primary's if the replica fails."""
    from cargotime.apps import get_reader

    write, alias = conf.database_alias(), read_alias()
    if alias == write:
        return read(get_reader(write))
    try:
        return read(get_reader(alias))
    except REPLICA_FAILURES as error:
        logger.warning(
            "The read replica %r failed mid-read (%s); the primary %r serves the "
            "read again, and the replica is asked again in %g seconds.",
            alias,
            str(error).strip(),
            write,
            RETRY_AFTER,
        )
        _close(connections[alias])
        _rest(alias)
    return read(get_reader(write))


def read_alias() -> str:
    """Return where a read that begins now sees everything the primary has written."""
    write = conf.database_alias()
    read = conf.read_database_alias()
    if read == write:
        return write
    primary, replica = connections[write], connections[read]
    if primary.vendor != "postgresql" or replica.vendor != "postgresql":
        # Only PostgreSQL's replicas say how far they are (cargotime.E011).
        return write
    if primary.in_atomic_block or replica.in_atomic_block:
        # The caller's transaction may hold writes no replica has seen, or an older
        # snapshot of the replica: it decides what its reads see.
        return write
    if time.monotonic() < _resting.get(read, -math.inf):
        return write
    # Every commit the primary has made visible is written by now: commits are
    # flushed before they show. Compared by WAL position, never by event time, so
    # that history imported with timestamps long past is not missed.
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (written,) = cursor.fetchone()
    deadline = time.monotonic() + conf.read_replica_max_wait()
    try:
        caught_up = _replayed(replica, str(written), deadline)
    except django.db.Error as error:
        # Down, or gone mid-way: the primary answers, and nobody sees an error.
        logger.warning(
            "The read replica %r cannot be read (%s); the primary %r serves, and "
            "the replica is asked again in %g seconds.",
            read,
            str(error).strip(),
            write,
            RETRY_AFTER,
        )
        _close(replica)
        _rest(read)
        return write
    if caught_up is None:
        logger.warning(
            "The database %r is not a replica in recovery, so nothing tells how far "
            "it is behind %r; the primary serves, and %r is asked again in %g "
            "seconds. Point READ_DATABASE_ALIAS at a streaming replica.",
            read,
            write,
            read,
            RETRY_AFTER,
        )
        _rest(read)
        return write
    return read if caught_up else write


def forget_failures(**kwargs: Any) -> None:
    """Ask every read alias again at the next read, whatever failed before."""
    if kwargs.get("setting", "CARGOTIME") in {"CARGOTIME", "DATABASES"}:
        _resting.clear()


# Other settings may name other servers under the same aliases.
setting_changed.connect(forget_failures)


def _rest(alias: str) -> None:
    _resting[alias] = time.monotonic() + RETRY_AFTER


def _replayed(
    replica: BaseDatabaseWrapper, written: str, deadline: float
) -> bool | None:
    # True once the replica has replayed up to *written*; False if it has not by
    # *deadline*; None if it replays nothing (a primary, or a promoted standby whose
    # position stands still). Each look is a statement of its own, in autocommit:
    # the read that follows begins its snapshot after the last look.
    pause = FIRST_POLL
    with replica.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn",
                [written],
            )
            in_recovery, done = cursor.fetchone()
            if not in_recovery:
                return None
            if done:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_POLL)


def _close(connection: BaseDatabaseWrapper) -> None:
    # The next read connects afresh; a broken connection may fail to close, too.
    with suppress(django.db.Error):
        connection.close()
