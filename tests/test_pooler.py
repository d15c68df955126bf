"""Behind PgBouncer in transaction mode: saves, time travel, the fleet and the rebuild.

`make test-pgbouncer` runs the whole suite with DATABASE_URL at a PgBouncer that .ci/
starts, and DATABASE_POOLER=transaction. These tests prove that the suite really went
through it, one transaction per server connection, and move each transaction of
cargotime's onto another server connection than the one before, as a busy pooler would.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any
from unittest import skipUnless
from uuid import UUID

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, connections
from django.test import SimpleTestCase, TransactionTestCase
from django.test.utils import CaptureQueriesContext

from cargotime.application import (
    DEFAULT_SNAPSHOT_INTERVAL,
    SearchableTimestampsApplication,
)
from cargotime.consistent_read import consistent_read
from cargotime.domain import Cargo, Location
from cargotime.fleet import compare_fleet, fleet_at, fleet_counts, iter_fleet
from cargotime.models import EventTimestamp
from tests.cargos import DEADLINE, HONGKONG_STOCKHOLM, VOYAGE
from tests.helpers import ManualClock, cargo_state
from tests.test_project_settings import project_settings

POOLED = getattr(settings, "DATABASE_POOLER", "") == "transaction"
NOT_POOLED = "DATABASE_POOLER is not 'transaction': DATABASE_URL names no pooler"
# More saves than psycopg's default prepare_threshold (5), were it not None.
SAVES = 12


def connect(dbname: str | None = None, **options: Any) -> Any:
    """Open a psycopg connection of our own to the pooler (or to its console)."""
    import psycopg

    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"],
        port=config["PORT"],
        user=config["USER"],
        password=config["PASSWORD"],
        dbname=dbname or config["NAME"],
        **{"autocommit": True, **options},
    )


def console(command: str) -> list[dict[str, Any]]:
    """Run a SHOW command on PgBouncer's admin console; return its rows."""
    import psycopg

    # The console speaks only the simple query protocol: bind on the client side.
    with (
        connect("pgbouncer", cursor_factory=psycopg.ClientCursor) as admin,
        admin.cursor() as cursor,
    ):
        cursor.execute(command)
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def client_port() -> int:
    """Return our end of the Django connection's socket, as the pooler names clients."""
    connection.ensure_connection()
    with socket.fromfd(
        connection.connection.fileno(), socket.AF_INET, socket.SOCK_STREAM
    ) as ours:
        return int(ours.getsockname()[1])


def other_clients() -> list[dict[str, Any]]:
    """Return the pooler's clients of the test database but the Django connection."""
    # Behind a pooler, the server's sessions are the pooler's, open or not: whether a
    # client closed what it opened shows in the pooler's list of clients.
    ours = client_port()
    return [
        row
        for row in console("SHOW CLIENTS")
        if row["database"] == connection.settings_dict["NAME"] and row["port"] != ours
    ]


def fetch(client: Any, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """Return the row *sql* selects, on a psycopg connection of our own."""
    row = client.execute(sql, params).fetchone()
    assert row is not None
    return tuple(row)


def one(sql: str) -> Any:
    """Return the one value *sql* selects, on the Django connection."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        (value,) = cursor.fetchone()
    return value


def backend_pid() -> int:
    """Return the server process that runs the Django connection's next statement."""
    return int(one("SELECT pg_backend_pid()"))


def book_elsewhere(app: SearchableTimestampsApplication) -> None:
    """Book a cargo from a thread: a client of the pooler of its own."""
    try:
        app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
    finally:
        connections.close_all()


@contextmanager
def holding(pid: int) -> Iterator[None]:
    """Keep the pooler's server connection *pid* busy in a transaction of others."""
    with ExitStack() as stack:
        # The pooler hands out the server connection released last first (LIFO);
        # a few more clients are there in case another came first.
        for _ in range(5):
            other = stack.enter_context(connect(autocommit=False))
            held = other.execute("SELECT pg_backend_pid()").fetchone()
            if held == (pid,):
                yield
                return
        pytest.fail(f"no client of the pooler got the server connection {pid}")


@contextmanager
def elsewhere() -> Iterator[None]:
    """Run the Django connection's next transaction on another server connection."""
    with holding(backend_pid()):
        yield


@skipUnless(POOLED, NOT_POOLED)
class PgBouncerTests(TransactionTestCase):
    databases = {"default"}

    def test_the_suite_is_a_client_of_pgbouncer_in_transaction_mode(self) -> None:
        config = {row["key"]: row["value"] for row in console("SHOW CONFIG")}
        assert config["pool_mode"] == "transaction"
        port = client_port()
        clients = [row for row in console("SHOW CLIENTS") if row["port"] == port]
        assert [(row["database"], row["user"]) for row in clients] == [
            (connection.settings_dict["NAME"], connection.settings_dict["USER"])
        ]
        pools = {
            row["database"]: row["pool_mode"]
            for row in console("SHOW POOLS")
            if row["user"] == connection.settings_dict["USER"]
        }
        assert pools[connection.settings_dict["NAME"]] == "transaction"
        # The server it reaches listens elsewhere: the pooler stands in between.
        assert one("SELECT inet_server_port()") != int(connection.settings_dict["PORT"])

    def test_one_session_runs_on_another_server_connection_when_its_own_is_busy(
        self,
    ) -> None:
        first = backend_pid()
        with holding(first):
            assert backend_pid() != first

    def test_a_prepared_statement_is_gone_on_the_next_server_connection(self) -> None:
        # Why DATABASE_POOLER=transaction keeps prepare_threshold at None: PgBouncer
        # before 1.21 leaves a statement prepared on the server connection it was
        # prepared on, and the client's next transaction may run on another.
        import psycopg

        with connect(prepare_threshold=0) as client:
            (pid,) = fetch(client, "SELECT pg_backend_pid() + %s", [0])
            with (
                holding(pid),
                pytest.raises(psycopg.errors.InvalidSqlStatementName),
            ):
                client.execute("SELECT pg_backend_pid() + %s", [0])
        connection.ensure_connection()
        assert connection.connection.prepare_threshold is None
        assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True

    def test_a_session_setting_stays_on_its_server_connection(self) -> None:
        # PgBouncer replays the few settings it tracks (the time zone that Django
        # sets, the client encoding...) on each server connection a client gets; any
        # other SET stays on the server connection it ran on.
        with connect() as client:
            client.execute("SET TIME ZONE 'Asia/Tokyo'")
            client.execute("SET statement_timeout = '123s'")
            (pid,) = fetch(client, "SELECT pg_backend_pid()")
            with holding(pid):
                timezone, timeout, moved = fetch(
                    client,
                    "SELECT current_setting('TimeZone'), "
                    "current_setting('statement_timeout'), pg_backend_pid()",
                )
        assert moved != pid
        assert timezone == "Asia/Tokyo"
        assert timeout != "123s"

    def test_cargotime_sets_nothing_for_the_session(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock)
        with CaptureQueriesContext(connection) as queries:
            tracking_id = app.book_new_cargo(
                Location.HONGKONG, Location.STOCKHOLM, DEADLINE
            )
            clock.advance()
            app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
            app.get_cargo_at_timestamp(tracking_id, clock())
            with consistent_read("default"):
                fleet_at(clock(), app=app)
                fleet_counts(clock(), app=app)
            call_command("timestamp_index", "rebuild", stdout=io.StringIO())
        sets = [
            query["sql"].lstrip().upper()
            for query in queries
            if query["sql"].lstrip().upper().startswith(("SET ", "RESET "))
        ]
        assert sets
        # Only for the transaction that runs them.
        assert all(sql.startswith(("SET LOCAL ", "SET TRANSACTION ")) for sql in sets)

    def test_saves_time_travel_the_fleet_and_the_rebuild(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock)
        instants = []
        cargos = []
        for _ in range(2):
            clock.advance()
            with elsewhere():
                tracking_id = app.book_new_cargo(
                    Location.HONGKONG, Location.STOCKHOLM, DEADLINE
                )
            cargos.append(tracking_id)
            clock.advance()
            with elsewhere():
                app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
            for voyage, location, activity in VOYAGE:
                clock.advance()
                with elsewhere():
                    app.register_handling_event(tracking_id, voyage, location, activity)
            instants.append(clock())
        # Past the snapshot interval: snapshots go in the pipelined saves too.
        long = cargos[-1]
        destinations = [Location.HAMBURG, Location.STOCKHOLM]
        for number in range(SAVES + DEFAULT_SNAPSHOT_INTERVAL):
            clock.advance(timedelta(minutes=1))
            with elsewhere():
                app.change_destination(long, destinations[number % 2])
        assert app.get_cargo(long).version > SAVES

        self.assert_time_travel_replays(app, cargos, instants)
        self.assert_fleet(app, cargos, instants)
        self.assert_consistent_read(app, cargos)
        self.assert_rebuild()

    def assert_time_travel_replays(
        self,
        app: SearchableTimestampsApplication,
        cargos: list[UUID],
        instants: list[Any],
    ) -> None:
        with CaptureQueriesContext(connection) as queries:
            for tracking_id in cargos:
                for version in range(1, app.get_cargo(tracking_id).version + 1):
                    expected: Cargo = app.repository.get(tracking_id, version=version)
                    with elsewhere():
                        found = app.get_cargo_at_timestamp(
                            tracking_id, expected.modified_on
                        )
                    assert cargo_state(found) == cargo_state(expected)
        # Migration 0003's PL/pgSQL function, each time on another server connection.
        assert any("cargotime_events_at(" in query["sql"] for query in queries)

    def assert_fleet(
        self,
        app: SearchableTimestampsApplication,
        cargos: list[UUID],
        instants: list[Any],
    ) -> None:
        now = app.get_cargo(cargos[-1]).modified_on
        with elsewhere():
            page = fleet_at(now, app=app, limit=1)
        assert page.next is not None
        with elsewhere():
            rest = fleet_at(now, app=app, limit=1, after=page.next)
        assert {page.cargos[0].tracking_id, rest.cargos[0].tracking_id} == set(cargos)
        assert [cargo.tracking_id for cargo in iter_fleet(now, app=app, batch=1)] == [
            cargo.tracking_id for cargo in (*page.cargos, *rest.cargos)
        ]
        with elsewhere():
            assert fleet_counts(instants[0], app=app).count == 1
        with elsewhere():
            comparison = compare_fleet(instants[0], now, app=app)
        # The second cargo, booked after the first had arrived.
        assert [change.after.tracking_id for change in comparison.changes] == [
            cargos[1]
        ]
        assert comparison.changes[0].before is None

    def assert_consistent_read(
        self, app: SearchableTimestampsApplication, cargos: list[UUID]
    ) -> None:
        later = app.get_cargo(cargos[0]).modified_on + timedelta(days=1)
        with elsewhere(), consistent_read("default"):
            isolation = one("SELECT current_setting('transaction_isolation')")
            read_only = one("SELECT current_setting('transaction_read_only')")
            pid = backend_pid()
            before = fleet_counts(later, app=app)
            # Another client saves meanwhile; the block's snapshot is older.
            writer = threading.Thread(target=book_elsewhere, args=(app,))
            writer.start()
            writer.join()
            assert fleet_counts(later, app=app) == before
            assert backend_pid() == pid
        assert (isolation, read_only) == ("repeatable read", "on")
        assert fleet_counts(later, app=app).count == before.count + 1

    def assert_rebuild(self) -> None:
        rows = EventTimestamp.objects.count()
        EventTimestamp.objects.filter(originator_version__gt=3).delete()
        out = io.StringIO()
        # A transaction per batch of 5 events: many, on whichever server is free.
        call_command("timestamp_index", "rebuild", "--batch-size", "5", stdout=out)
        assert EventTimestamp.objects.count() == rows
        out = io.StringIO()
        call_command("timestamp_index", "check", stdout=out)
        assert "The timestamp index matches" in out.getvalue()


class PoolerSettingsTests(SimpleTestCase):
    def test_transaction_pooling_turns_off_what_outlives_a_transaction(self) -> None:
        database = project_settings(
            DJANGO_DEBUG="1",
            DATABASE_URL="postgres://u:p@pooler.example:6432/cargo",
            DATABASE_POOLER="transaction",
        )["DATABASES"]["default"]
        assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert database["OPTIONS"]["prepare_threshold"] is None

    def test_without_a_pooler_the_settings_are_djangos(self) -> None:
        database = project_settings(
            DJANGO_DEBUG="1",
            DATABASE_URL="postgres://u:p@db.example:5432/cargo",
            DATABASE_POOLER="",
        )["DATABASES"]["default"]
        assert not database.get("DISABLE_SERVER_SIDE_CURSORS")
        assert "prepare_threshold" not in database.get("OPTIONS", {})

    def test_an_unknown_pooler_mode_is_refused(self) -> None:
        with self.assertRaisesMessage(
            ImproperlyConfigured,
            "DATABASE_POOLER must be 'transaction' (PgBouncer's pool_mode = "
            "transaction in front of DATABASE_URL) or unset, not 'statement'.",
        ):
            project_settings(
                DJANGO_DEBUG="1",
                DATABASE_URL="postgres://u:p@db.example:5432/cargo",
                DATABASE_POOLER="statement",
            )

    def test_a_pooler_in_front_of_sqlite_is_refused(self) -> None:
        with self.assertRaisesMessage(
            ImproperlyConfigured, "DATABASE_URL names no PostgreSQL server"
        ):
            project_settings(
                DJANGO_DEBUG="1", DATABASE_URL="", DATABASE_POOLER="transaction"
            )
