"""One request, one snapshot: a save that lands between the page's reads never shows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.db import (
    DatabaseError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from eventsourcing_django.models import StoredEventRecord

from cargotime.application import SearchableTimestampsApplication
from cargotime.consistent_read import consistent_read
from cargotime.domain import Location
from cargotime.models import EventTimestamp
from tests.cargos import book_voyage
from tests.helpers import START, ManualClock

URL = "admin:cargotime_time_travel"
# Every table a time-travel answer reads: the index, the events, the snapshots.
TABLES = (
    EventTimestamp._meta.db_table,
    StoredEventRecord._meta.db_table,
    "snapshots",
)
# After the voyage's eight events, which end at 15:00 on START's day.
LATER = START + timedelta(days=1)
# After every event, the interleaved one included.
AT = "2030-01-01T00:00:00+00:00"


def reads_a_table(sql: str) -> bool:
    return any(f'"{table}"' in sql for table in TABLES)


class SaveElsewhere:
    """Commit one more event of a cargo from another thread, on its own connection."""

    def __init__(self, tracking_id: UUID) -> None:
        self.tracking_id = tracking_id
        self.saved = False
        self.refused: str | None = None

    def __call__(self) -> None:
        thread = threading.Thread(target=self.run)
        thread.start()
        # Joined at once: the save has committed, or was refused, before the page
        # reads on. A SQLite writer that the page's read lock blocks gives up at
        # once instead of waiting (busy_timeout 0), so nothing waits on anything.
        thread.join()

    def run(self) -> None:
        writer = SearchableTimestampsApplication(clock=ManualClock(LATER))
        try:
            if connection.vendor == "sqlite":
                with connections["default"].cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 0")
            writer.change_destination(self.tracking_id, Location.AUMEL)
            self.saved = True
        except OperationalError as error:
            self.refused = str(error)
        finally:
            writer.close()
            connections.close_all()


@contextmanager
def after_the_first_read(action: Callable[[], None]) -> Iterator[None]:
    """Run *action* once, right after the request's first read of a cargotime table."""
    done = False

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal done
        result = execute(sql, params, many, context)
        if not done and reads_a_table(sql):
            done = True
            action()
        return result

    with connection.execute_wrapper(wrapper):
        yield
    assert done, "the request read no cargotime table"


class InterleavedSaveTests(TransactionTestCase):
    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication(clock=ManualClock())
        self.addCleanup(self.app.close)
        self.tracking_id = book_voyage(self.app, ManualClock())
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        self.save = SaveElsewhere(self.tracking_id)

    def get(self, **params: str) -> Any:
        with after_the_first_read(self.save):
            return self.client.get(
                reverse(URL), {"tracking_id": str(self.tracking_id), **params}
            )

    def assert_the_save_landed_outside_the_snapshot(self) -> None:
        if connection.vendor == "postgresql":
            # The save committed between the reads: only a snapshot hides it.
            assert self.save.saved, self.save.refused
        else:
            # SQLite: in WAL mode the save commits beside the snapshot; in rollback
            # mode the page's read lock refuses it until the page is done.
            refused = self.save.refused or ""
            assert self.save.saved or "locked" in refused, refused
        # Whatever happened, the page let go of the database: saving works.
        if not self.save.saved:
            self.app.change_destination(self.tracking_id, Location.AUMEL)
        assert self.app.get_cargo(self.tracking_id).version == 9

    def test_the_page_shows_the_history_as_it_was_when_it_began_reading(self) -> None:
        response = self.get(at=AT)
        assert response.status_code == 200
        visit = response.context["visit"]
        # Was "Version 9 of 8": the span read before the save, the cargo after it.
        assert (visit.cargo.version, visit.span.last_version) == (8, 8)
        assert [row.entry.version for row in response.context["rows"]] == list(
            range(1, 9)
        )
        self.assertContains(response, "Version 8 of 8")
        self.assert_the_save_landed_outside_the_snapshot()

    def test_the_json_shows_the_history_as_it_was_when_it_began_reading(self) -> None:
        response = self.get(at=AT, format="json")
        assert response.status_code == 200
        data = response.json()
        assert data["version"] == 8
        assert [event["version"] for event in data["events"]] == list(range(1, 9))
        self.assert_the_save_landed_outside_the_snapshot()

    def test_the_timeline_ends_where_the_history_did(self) -> None:
        response = self.get(version="8")
        assert response.status_code == 200
        self.assertContains(response, "Version 8 of 8")
        # Was 1 to 9: the timeline, read last, showed an event past the end.
        assert [row.entry.version for row in response.context["rows"]] == list(
            range(1, 9)
        )
        self.assert_the_save_landed_outside_the_snapshot()

    def test_request_transactions_do_not_weaken_the_snapshot(self) -> None:
        # Under ATOMIC_REQUESTS the request's own transaction would already have
        # read at READ COMMITTED: the page opts out, and opens its snapshot.
        settings = connections.settings["default"]
        with mock.patch.dict(settings, {"ATOMIC_REQUESTS": True}):
            response = self.get(at=AT)
        assert response.status_code == 200
        self.assertContains(response, "Version 8 of 8")
        self.assert_the_save_landed_outside_the_snapshot()


class SnapshotTests(TransactionTestCase):
    """Where each answer reads: in one read-only snapshot of the application's alias."""

    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication(clock=ManualClock())
        self.addCleanup(self.app.close)
        self.tracking_id = book_voyage(self.app, ManualClock())
        self.client.force_login(User.objects.create_superuser("boss", password="x"))

    def transaction_state(self) -> tuple[bool, str, str]:
        """Return whether a transaction is open, its isolation, and read-only."""
        raw: Any = connection.connection
        if connection.vendor != "postgresql":
            # SQLite: a transaction reads one snapshot, whatever its mode.
            return (bool(raw.in_transaction), "", "")
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('transaction_isolation'), "
                "current_setting('transaction_read_only')"
            )
            isolation, read_only = cursor.fetchone()
        return (raw.info.transaction_status != 0, isolation, read_only)

    def states_of_the_reads(self, params: dict[str, str]) -> list[tuple[Any, ...]]:
        states: list[tuple[Any, ...]] = []

        def wrapper(execute: Any, sql: str, *args: Any) -> Any:
            if reads_a_table(sql):
                states.append(self.transaction_state())
            return execute(sql, *args)

        with connection.execute_wrapper(wrapper):
            response = self.client.get(reverse(URL), params)
        assert response.status_code == 200, response.content
        return states

    def test_the_picker_the_page_and_the_json_read_in_one_snapshot(self) -> None:
        expected = (
            (True, "repeatable read", "on")
            if connection.vendor == "postgresql"
            else (True, "", "")
        )
        for params in [
            {},
            {"q": str(self.tracking_id)[:4]},
            {"tracking_id": str(self.tracking_id)},
            {"tracking_id": str(self.tracking_id), "compare_at": START.isoformat()},
        ]:
            with self.subTest(params=params):
                states = self.states_of_the_reads(params)
                assert states
                # Was (False, …): each read a statement of its own, in autocommit.
                assert set(states) == {expected}

    def test_the_json_reads_in_one_statement(self) -> None:
        # One statement sees one snapshot: it needs no transaction around it.
        for params in [{}, {"version": "3"}, {"events_after": "2"}, {"at": "now"}]:
            with self.subTest(params=params):
                states = self.states_of_the_reads(
                    {"tracking_id": str(self.tracking_id), "format": "json", **params}
                )
                assert len(states) == 1, states

    def test_it_opens_a_read_only_transaction_that_takes_no_write_lock(self) -> None:
        with CaptureQueriesContext(connection) as queries, consistent_read("default"):
            assert EventTimestamp.objects.count() == 8
            if connection.vendor == "postgresql":
                assert self.transaction_state() == (True, "repeatable read", "on")
                with self.assertRaisesMessage(DatabaseError, "read-only"):
                    EventTimestamp.objects.filter(pk=0).delete()
        statements = [query["sql"] for query in queries]
        if connection.vendor == "postgresql":
            # psycopg's BEGIN carries the isolation level and READ ONLY: no SET
            # TRANSACTION costs a round trip of its own, and the first read is the
            # first statement after it.
            assert statements[:2] == [
                "BEGIN",
                'SELECT COUNT(*) AS "__count" FROM "cargotime_eventtimestamp"',
            ]
            assert not any("SET TRANSACTION" in sql for sql in statements)
            # The connection's own settings are back for what runs after.
            assert self.transaction_state() == (False, "read committed", "off")
            EventTimestamp.objects.filter(pk=0).delete()
        else:
            # SQLite has no read-only transactions. The settings' IMMEDIATE mode
            # would take the write lock at BEGIN: reads begin a DEFERRED one. This
            # fails loudly if Django renames the transaction_mode it reads.
            assert statements[0] == "BEGIN DEFERRED"
            assert getattr(connection, "transaction_mode", None) == "IMMEDIATE"

    def test_a_connection_that_breaks_mid_read_raises_its_own_error(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL's server sessions")
        import psycopg

        connection.ensure_connection()
        backend = connection.connection.info.backend_pid
        with psycopg.connect(**connection.get_connection_params()) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [backend])
        if getattr(settings, "DATABASE_POOLER", "") == "transaction":
            # Behind PgBouncer the server session ends, not Django's connection to
            # the pooler: the read goes to another server session, in its snapshot.
            with consistent_read("default"):
                assert EventTimestamp.objects.count() == 8
                assert self.transaction_state() == (True, "repeatable read", "on")
        else:
            # The error that broke it, as Django raises it: the driver's settings
            # are not put back on a broken connection, and do not hide it.
            with self.assertRaises(OperationalError), consistent_read("default"):
                EventTimestamp.objects.count()
        # The next read connects afresh, with the connection's own settings.
        assert EventTimestamp.objects.count() == 8
        assert self.transaction_state() == (False, "read committed", "off")

    def test_inside_a_transaction_it_reads_in_that_transaction(self) -> None:
        with (
            transaction.atomic(),
            CaptureQueriesContext(connection) as queries,
            consistent_read("default"),
        ):
            assert EventTimestamp.objects.count() == 8
        assert [query["sql"] for query in queries][0].startswith("SELECT")
