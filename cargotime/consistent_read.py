"""One consistent, read-only snapshot of the database for everything a request reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import DatabaseError, connections, transaction


@contextmanager
def consistent_read(using: str) -> Iterator[None]:
    """Run the block's reads of the database *using* in one snapshot, read-only."""
    connection = connections[using]
    if connection.in_atomic_block:
        # The caller's transaction already decides what its reads see.
        with transaction.atomic(using=using, savepoint=False):
            yield
    elif connection.vendor == "sqlite":
        with _deferred(connection), transaction.atomic(using=using):
            yield
    elif connection.vendor == "postgresql":
        # The first read takes the snapshot that every later read of the block sees,
        # whatever commits in between.
        with _begin_repeatable_read_only(connection):
            yield
    else:
        with transaction.atomic(using=using):
            yield


@contextmanager
def _begin_repeatable_read_only(connection: Any) -> Iterator[None]:
    # psycopg 3 writes the isolation level and READ ONLY into the BEGIN it sends with
    # the first query: no round trip of its own for a SET TRANSACTION. That holds
    # behind a pooler in transaction mode too: the BEGIN is the transaction's own.
    # The driver's settings are the connection's, so they are put back after it.
    connection.ensure_connection()
    raw = connection.connection
    if not _is_psycopg3(raw):
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                )
            yield
        return
    import psycopg

    level, read_only = raw.isolation_level, raw.read_only
    raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    raw.read_only = True
    try:
        with transaction.atomic(using=connection.alias):
            yield
    finally:
        # The transaction has ended (committed or rolled back); a connection that
        # broke on the way and was closed takes its settings with it.
        if not raw.closed:
            try:
                raw.isolation_level, raw.read_only = level, read_only
            except psycopg.Error:
                # Broken, and not back to idle: it must not serve another read
                # with these settings, nor hide the error that broke it.
                with suppress(DatabaseError):
                    connection.close()


def _is_psycopg3(raw: Any) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(raw, psycopg.Connection)


@contextmanager
def _deferred(connection: Any) -> Iterator[None]:
    # A SQLite transaction reads one snapshot from its first read to its end. The
    # demo's IMMEDIATE mode would take the write lock up front as well, so that every
    # save waited for every page view: reads begin a DEFERRED transaction instead.
    # Connecting reads transaction_mode from OPTIONS, so connect first.
    connection.ensure_connection()
    mode = connection.transaction_mode
    connection.transaction_mode = "DEFERRED"
    try:
        yield
    finally:
        connection.transaction_mode = mode
