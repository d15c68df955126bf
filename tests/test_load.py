"""Eight threads and three processes write at once: nothing is lost, nothing hangs."""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from cargotime.apps import get_application
from tests.load import (
    SETUP_VERSION,
    book_routed_cargo,
    index_check,
    run_load,
    summary,
    time_travel_problems,
    version_problems,
)
from tests.test_pooler import POOLED, other_clients

# End to end: writers in threads and processes. `pytest -m "not e2e"` leaves it out.
pytestmark = pytest.mark.e2e

SECONDS = 3.0
THREADS = 8
PROCESSES = 3


def other_backends() -> list[Any]:
    """Return the sessions on the test database but this one (a pooler's: clients)."""
    if POOLED:
        return other_clients()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, state, query FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return list(cursor.fetchall())


class LoadTests(TransactionTestCase):
    def test_writers_on_shared_and_own_cargos_lose_nothing(self) -> None:
        app = get_application()
        postgresql = connection.vendor == "postgresql"
        if postgresql:
            # Sessions that earlier tests left in reference cycles are not this test's.
            gc.collect()
            assert other_backends() == [], "other sessions before the load"

        result = run_load(app, seconds=SECONDS, threads=THREADS, processes=PROCESSES)
        print(summary(connection.vendor, result, THREADS, PROCESSES))

        assert result.hung == [], f"writers that never finished: {result.hung}"
        assert result.errors == [], "\n".join(result.errors)
        assert result.events > 0
        # Two shared cargos and fourteen writers: conflicts are all but certain, and
        # each surfaced as the IntegrityError counted, not as anything else.
        assert result.conflicts > 0
        assert version_problems(app, result) == []
        assert "The timestamp index matches" in index_check()
        looked_up, problems = time_travel_problems(
            app, [*result.shared, *result.own.values()]
        )
        assert problems == [], "\n".join(problems[:20])
        assert looked_up == result.events + 2 * (len(result.shared) + len(result.own))
        # Every writer closed what it opened, in this process and in the others.
        assert result.left_open == []
        if postgresql:
            self.assert_no_other_backends()

    def assert_no_other_backends(self) -> None:
        # A session leaves pg_stat_activity a moment after its client has closed it.
        sessions = other_backends()
        for _ in range(100):
            if not sessions:
                break
            time.sleep(0.1)
            sessions = other_backends()
        assert sessions == [], f"sessions left open: {sessions}"


class DebugCursorTests(TransactionTestCase):
    def test_writers_save_and_travel_while_debug_logs_their_queries(self) -> None:
        # Found by the load test's processes, which ran with DEBUG on at first: the
        # recorder's SQLite statements, written with sqlite3's placeholders, broke
        # Django's query log (TypeError in last_executed_query) and every save failed.
        app = get_application()
        with CaptureQueriesContext(connection) as queries:
            tracking_id = book_routed_cargo(app)
            cargo = app.get_cargo_at_timestamp(tracking_id, datetime.now(UTC))
        assert cargo.version == SETUP_VERSION
        logged = " ".join(query["sql"] for query in queries.captured_queries)
        assert "INSERT" in logged
        assert "cargotime_eventtimestamp" in logged
