"""One consistent, read-only snapshot of the database for everything a request reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction


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
    else:
        with transaction.atomic(using=using):
            if connection.vendor == "postgresql":
                # Before any query: the first read takes the snapshot that every
                # later read of the block sees, whatever commits in between.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
                    )
            yield


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
