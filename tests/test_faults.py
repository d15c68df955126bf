"""Faults in the middle of a write: nothing is half-written, and the next try works.

PostgreSQL drops a connection when another session terminates its backend. SQLite has
no server: there a connection drops when the writing process dies, so the test kills it.
"""

from __future__ import annotations

import io
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.synchronize import Event
from typing import Any
from uuid import UUID

from django.core.management import call_command
from django.db import close_old_connections, connection, connections, transaction
from django.test import TransactionTestCase
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    PersistenceError,
)
from eventsourcing_django.models import StoredEventRecord

from cargotime.application import SearchableTimestampsApplication
from cargotime.apps import get_application
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location
from cargotime.models import EventTimestamp
from tests.cargos import ship, stored
from tests.helpers import START, ManualClock, cargo_state
from tests.processes import SPAWN, spawn

ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
DEADLINE = START + timedelta(weeks=4)
EVENTS = StoredEventRecord._meta.db_table
INDEX = EventTimestamp._meta.db_table
TRIGGER = "cargotime_test_refuse_index_row"
REFUSAL = "cargotime test: the index refuses the row"
# Long enough for any wait in these tests to end on its own signal, not on time.
PATIENCE = 60.0


def break_index(version: int | None = None) -> None:
    """Make the database refuse index rows (of *version* only, if given)."""
    quoted = connection.ops.quote_name(INDEX)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
            )
            when = f"WHEN (NEW.originator_version = {version:d})" if version else ""
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {quoted} FOR EACH ROW "
                f"{when} EXECUTE FUNCTION {TRIGGER}()"
            )
        else:
            when = f"WHEN NEW.originator_version = {version:d}" if version else ""
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {quoted} {when} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )


def repair_index() -> None:
    quoted = connection.ops.quote_name(INDEX)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quoted}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


class IndexInsertFailsTests(TransactionTestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)

    def refuse_index_rows(self, version: int | None = None) -> None:
        break_index(version)
        self.addCleanup(repair_index)

    def assert_refused(self, save: Callable[[], object]) -> None:
        before = stored()
        with self.assertRaises(PersistenceError) as raised:
            save()
        assert REFUSAL in str(raised.exception)
        assert stored() == before

    def test_a_booking_whose_index_row_fails_stores_nothing(self) -> None:
        self.refuse_index_rows()
        self.assert_refused(
            lambda: self.app.book_new_cargo(
                Location.HONGKONG, Location.STOCKHOLM, DEADLINE
            )
        )
        assert stored() == (0, 0, 0)

        repair_index()
        tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        assert stored() == (1, 1, 0)
        cargo = self.app.get_cargo_at_timestamp(tracking_id, self.clock.now)
        assert cargo.version == 1

    def test_a_command_whose_index_row_fails_leaves_the_cargo_as_it_was(self) -> None:
        tracking_id = ship(self.app, 2)
        state = cargo_state(self.app.get_cargo(tracking_id))
        self.refuse_index_rows()
        self.clock.advance()
        self.assert_refused(
            lambda: self.app.change_destination(tracking_id, Location.AUMEL)
        )
        assert cargo_state(self.app.get_cargo(tracking_id)) == state

        repair_index()
        self.app.change_destination(tracking_id, Location.AUMEL)
        cargo = self.app.get_cargo_at_timestamp(tracking_id, self.clock.now)
        assert cargo.version == 5
        assert cargo.destination is Location.AUMEL

    def test_one_failing_row_of_a_bulk_save_stores_none_of_its_events(self) -> None:
        def build(tracking_id: UUID | None = None) -> Cargo:
            cargo = Cargo.new_booking(
                Location.HONGKONG,
                Location.STOCKHOLM,
                DEADLINE,
                tracking_id=tracking_id,
                timestamp=self.clock(),
            )
            cargo.assign_route(ROUTE, timestamp=self.clock.advance())
            for location in (Location.HONGKONG, Location.NEWYORK, Location.TOKYO):
                cargo.register_handling_event(
                    None,
                    location,
                    HandlingActivity.RECEIVE,
                    timestamp=self.clock.advance(),
                )
            return cargo

        self.refuse_index_rows(version=3)
        cargo = build()
        self.assert_refused(lambda: self.app.save(cargo))
        assert stored() == (0, 0, 0)

        repair_index()
        # The same tracking ID again: no row of the failed save is in the way.
        self.app.save(build(cargo.id))
        assert stored() == (5, 5, 0)
        assert self.app.get_cargo(cargo.id).version == 5


def save_paused(tracking_id: UUID, pause_on: str, paused: Event) -> None:
    """Change the cargo's destination, and stop for good at *pause_on* (child)."""

    def pause(
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        if sql.startswith(pause_on):
            # Waiting for the lock the parent holds; it cannot get any further.
            paused.set()
            return execute(sql, params, many, context)
        result = execute(sql, params, many, context)
        if sql.startswith("INSERT") and pause_on in sql:
            # The events are written; the transaction is open. Wait to be killed.
            paused.set()
            time.sleep(PATIENCE * 10)
        return result

    with connection.execute_wrapper(pause):
        get_application().change_destination(tracking_id, Location.AUMEL)


class SaverThread(threading.Thread):
    """Save once, report the failure, then on a word from the test try again."""

    def __init__(self, app: SearchableTimestampsApplication, tracking_id: UUID) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.tracking_id = tracking_id
        self.backend: int | None = None
        self.started_saving = threading.Event()
        self.failed = threading.Event()
        self.retry = threading.Event()
        self.error: BaseException | None = None
        self.retry_error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (self.backend,) = cursor.fetchone()
            self.started_saving.set()
            try:
                self.app.change_destination(self.tracking_id, Location.AUMEL)
            except Exception as error:
                self.error = error
            self.failed.set()
            if not self.retry.wait(PATIENCE):
                return
            # What Django does around every request: drop a connection that broke.
            close_old_connections()
            try:
                self.app.change_destination(self.tracking_id, Location.AUMEL)
            except Exception as error:
                self.retry_error = error
        finally:
            connections.close_all()


class ConnectionDropsTests(TransactionTestCase):
    def setUp(self) -> None:
        self.app = get_application()
        self.tracking_id = ship(self.app, 2)
        self.before = stored()
        self.state = cargo_state(self.app.get_cargo(self.tracking_id))

    def assert_nothing_written(self) -> None:
        assert stored() == self.before
        assert cargo_state(self.app.get_cargo(self.tracking_id)) == self.state
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA integrity_check")
                assert cursor.fetchall() == [("ok",)]

    def assert_next_attempt_worked(self) -> None:
        cargo = self.app.get_cargo(self.tracking_id)
        assert cargo.version == self.state["version"] + 1
        assert cargo.destination is Location.AUMEL
        assert stored() == (self.before[0] + 1, self.before[1] + 1, self.before[2])
        assert "matches the 5 stored cargo events" in index_check()

    def test_a_save_waiting_for_the_events_lock_loses_its_connection(self) -> None:
        if connection.vendor == "postgresql":
            self.terminate_saver_blocked_on(EVENTS)
        else:
            self.kill_saver_paused_at("BEGIN")

    def test_a_save_inside_its_transaction_loses_its_connection(self) -> None:
        if connection.vendor == "postgresql":
            # The save holds the events' lock, and waits to write the index.
            self.terminate_saver_blocked_on(INDEX)
        else:
            self.kill_saver_paused_at(EVENTS)

    def terminate_saver_blocked_on(self, table: str) -> None:
        saver = SaverThread(self.app, self.tracking_id)
        with transaction.atomic(), connection.cursor() as cursor:
            quoted = connection.ops.quote_name(table)
            # SHARE conflicts with the save's EXCLUSIVE lock and with its inserts.
            cursor.execute(f"LOCK TABLE {quoted} IN SHARE MODE")
            saver.start()
            assert saver.started_saving.wait(PATIENCE)
            self.wait_until_waiting_for_a_lock(cursor, saver.backend)
            cursor.execute("SELECT pg_terminate_backend(%s)", [saver.backend])
            assert cursor.fetchone() == (True,)
        assert saver.failed.wait(PATIENCE), "the save never returned"
        assert isinstance(saver.error, OperationalError | InterfaceError), repr(
            saver.error
        )
        self.assert_nothing_written()

        saver.retry.set()
        saver.join(PATIENCE)
        assert not saver.is_alive(), "the next attempt never returned"
        assert saver.retry_error is None, repr(saver.retry_error)
        self.assert_next_attempt_worked()

    def wait_until_waiting_for_a_lock(self, cursor: Any, backend: int | None) -> None:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                [backend],
            )
            if cursor.fetchone() != (0,):
                return
            time.sleep(0.01)
        self.fail(f"backend {backend} never waited for a lock")

    def kill_saver_paused_at(self, pause_on: str) -> None:
        paused = SPAWN.Event()
        with self.write_lock_held(pause_on == "BEGIN"):
            saver = spawn(f"{__name__}.save_paused", self.tracking_id, pause_on, paused)
            assert paused.wait(PATIENCE), "the save never reached its pause"
            saver.kill()
            saver.join(PATIENCE)
        assert saver.exitcode == -signal.SIGKILL
        self.assert_nothing_written()

        # A fresh connection: this one may have seen the database before the kill.
        connection.close()
        self.app.change_destination(self.tracking_id, Location.AUMEL)
        self.assert_next_attempt_worked()

    @contextmanager
    def write_lock_held(self, hold: bool) -> Iterator[None]:
        if not hold:
            yield
            return
        # The settings begin transactions IMMEDIATE: this takes SQLite's write lock.
        with transaction.atomic():
            yield


def rebuild_paused(batch_size: int, pause_at_insert: int, paused: Event) -> None:
    """Run `timestamp_index rebuild`, stopping for good inside a batch (child)."""
    inserts = 0

    def pause(
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        nonlocal inserts
        result = execute(sql, params, many, context)
        if sql.startswith("INSERT") and INDEX in sql:
            inserts += 1
            if inserts == pause_at_insert:
                # This batch's rows are written, not committed. Wait to be killed.
                paused.set()
                time.sleep(PATIENCE * 10)
        return result

    with connection.execute_wrapper(pause):
        call_command(
            "timestamp_index",
            "rebuild",
            f"--batch-size={batch_size}",
            stdout=io.StringIO(),
        )


def index_rows() -> list[tuple[UUID, int, object]]:
    return sorted(
        EventTimestamp.objects.values_list(
            "originator_id", "originator_version", "timestamp"
        )
    )


def index_check() -> str:
    out = io.StringIO()
    call_command("timestamp_index", "check", stdout=out)
    return out.getvalue()


class RebuildKilledTests(TransactionTestCase):
    def test_a_rebuild_killed_between_batches_resumes_where_it_stopped(self) -> None:
        app = get_application()
        for _ in range(10):
            ship(app, 2)
        expected = index_rows()
        assert len(expected) == 40
        EventTimestamp.objects.all().delete()

        paused = SPAWN.Event()
        rebuild = spawn(f"{__name__}.rebuild_paused", 10, 3, paused)
        assert paused.wait(PATIENCE), "the rebuild never reached its third batch"
        # Two batches committed; the third is written but not committed.
        assert EventTimestamp.objects.count() == 20
        rebuild.kill()
        rebuild.join(PATIENCE)
        assert rebuild.exitcode == -signal.SIGKILL
        assert EventTimestamp.objects.count() == 20

        out = io.StringIO()
        call_command("timestamp_index", "rebuild", stdout=out)
        # What the killed run committed stays; the rest is done now.
        assert "inserted 20 missing rows" in out.getvalue()
        assert "matches the 40 stored cargo events" in index_check()
        assert index_rows() == expected
