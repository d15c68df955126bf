"""Reads from a streaming replica only when it has replayed what the primary wrote."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock, skipUnless
from uuid import UUID

import dj_database_url
import psycopg
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, transaction
from django.test import SimpleTestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from psycopg.pq import TransactionStatus

from cargotime import conf, read_replica
from cargotime.apps import get_application, get_reader
from cargotime.domain import Location
from cargotime.models import EventTimestamp, database_alias
from cargotime.read_replica import read_alias, read_application
from tests.cargos import DEADLINE
from tests.helpers import ManualClock
from tests.test_checks import check_with, databases_with, ids
from tests.test_project_settings import project_settings

PRIMARY = "primary"
REPLICA = "replica"
# The servers .ci/replica starts, when CARGOTIME_PRIMARY_URL and CARGOTIME_REPLICA_URL
# name them: tests/settings.py then has their primary as an alias.
HAS_REPLICA = PRIMARY in settings.DATABASES
REPLICA_URL = getattr(settings, "REPLICA_URL", "")
ON_POSTGRESQL = connection.vendor == "postgresql"
# History imported long after it happened: its timestamps say nothing of how far
# a replica has replayed.
LONG_AGO = datetime(1995, 5, 1, 8, 0, tzinfo=UTC)
TIME_TRAVEL = "admin:cargotime_time_travel"
FLEET = "admin:cargotime_fleet"
LSN_FUNCTIONS = ("pg_current_wal_lsn", "pg_last_wal_replay_lsn")
WARNINGS = "cargotime.read_replica"


class ReplicaAlias(TransactionTestCase):
    """A test case with the database alias "replica", a copy of *base*'s for now."""

    base = "default"
    databases = {"default", REPLICA}

    @classmethod
    def setUpClass(cls) -> None:
        # Added here, not in the settings: Django's test runner would create a test
        # database on it, which a replica refuses. Marked as a mirror of *base*,
        # whose test database it shows, so that no test flushes it either. The
        # runner never saw the mark, so the alias keeps its own server.
        base = connections[cls.base].settings_dict
        connections.settings[REPLICA] = {
            **base,
            "TEST": {**base["TEST"], "MIRROR": cls.base},
        }
        cls.addClassCleanup(cls.forget_replica)
        super().setUpClass()

    @classmethod
    def forget_replica(cls) -> None:
        cls.point_replica()
        del connections.settings[REPLICA]

    @classmethod
    def point_replica(cls, **changes: Any) -> None:
        """Make the next use of "replica" connect to *base*'s with *changes*."""
        connections[REPLICA].close()
        del connections[REPLICA]
        connections.settings[REPLICA] = {**connections.settings[REPLICA], **changes}

    @contextmanager
    def replica_at(self, **changes: Any) -> Iterator[None]:
        """Point "replica" elsewhere while the block runs."""
        before = connections.settings[REPLICA]
        self.point_replica(**changes)
        try:
            yield
        finally:
            self.point_replica(**before)


def closed_port() -> str:
    """Return a port of 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def lsn_queries(queries: list[dict[str, str]]) -> list[str]:
    return [
        query["sql"]
        for query in queries
        if any(name in query["sql"] for name in LSN_FUNCTIONS)
    ]


class SettingsTests(SimpleTestCase):
    def test_the_defaults_read_where_cargotime_writes(self) -> None:
        assert conf.read_database_alias() == conf.database_alias() == "default"
        assert conf.read_replica_max_wait() == 0.2
        with override_settings(CARGOTIME={"DATABASE_ALIAS": "secondary"}):
            assert conf.read_database_alias() == "secondary"

    def test_a_replica_of_the_write_database_passes(self) -> None:
        postgresql = {"ENGINE": "django.db.backends.postgresql", "NAME": "cargo"}
        replica = {**postgresql, "HOST": "replica"}
        with databases_with(default=postgresql, replica=replica):
            assert check_with(READ_DATABASE_ALIAS="replica") == []
            assert check_with(READ_DATABASE_ALIAS="default") == []
            assert check_with(READ_DATABASE_ALIAS=None) == []
            assert check_with(READ_REPLICA_MAX_WAIT=0) == []
            assert check_with(READ_REPLICA_MAX_WAIT=1.5) == []
            assert check_with(READ_REPLICA_MAX_WAIT=conf.MAX_READ_REPLICA_WAIT) == []

    def test_a_read_alias_that_names_the_write_database_again(self) -> None:
        # A second alias of the primary, spelled another way, is no replica.
        primary: dict[str, Any] = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "DB.internal",
            "PORT": "5432",
            "NAME": "cargo",
            "OPTIONS": {"connect_timeout": 2},
        }
        elsewhere = {**primary, "HOST": "db.internal", "PORT": 5432, "USER": "other"}
        with databases_with(default=primary, again=elsewhere):
            messages = check_with(READ_DATABASE_ALIAS="again")
        assert ids(messages) == ["cargotime.W004"]
        assert "same server and database as 'default'" in messages[0].msg
        others: list[dict[str, Any]] = [
            {"PORT": 5433},
            {"HOST": "replica"},
            {"NAME": "other"},
        ]
        for other in others:
            with (
                self.subTest(other=other),
                databases_with(default=primary, replica={**primary, **other}),
            ):
                assert check_with(READ_DATABASE_ALIAS="replica") == []

    def test_a_read_alias_not_in_databases(self) -> None:
        for value in ["archive", ["replica"], 3]:
            with self.subTest(value=value):
                messages = check_with(READ_DATABASE_ALIAS=value)
                assert ids(messages) == ["cargotime.E009"]
                assert "default" in (messages[0].hint or "")

    def test_a_read_alias_of_another_vendor(self) -> None:
        with databases_with(
            default={"ENGINE": "django.db.backends.postgresql"},
            replica={"ENGINE": "django.db.backends.sqlite3"},
        ):
            messages = check_with(READ_DATABASE_ALIAS="replica")
        assert ids(messages) == ["cargotime.E010"]
        assert "sqlite" in messages[0].msg
        assert "postgresql" in messages[0].msg

    def test_sqlite_has_no_replica_to_read(self) -> None:
        # Another SQLite file is another database, not a copy that says how far it is.
        sqlite = {"ENGINE": "django.db.backends.sqlite3"}
        with databases_with(default=sqlite, copy=sqlite):
            messages = check_with(READ_DATABASE_ALIAS="copy")
        assert ids(messages) == ["cargotime.E011"]
        assert "PostgreSQL" in messages[0].msg

    def test_a_wait_that_is_not_a_number_of_seconds(self) -> None:
        for value in [
            -0.1,
            "0.2",
            None,
            True,
            float("nan"),
            float("inf"),
            conf.MAX_READ_REPLICA_WAIT + 0.5,
            1e308,
        ]:
            with self.subTest(value=value):
                messages = check_with(READ_REPLICA_MAX_WAIT=value)
                assert ids(messages) == ["cargotime.E012"]
                assert "0.2" in (messages[0].hint or "")

    def test_the_project_reads_database_replica_url(self) -> None:
        primary = "postgres://u:p@db.example:5432/cargo"
        replica = "postgres://u:p@replica.example:5432/cargo"
        configured = project_settings(
            DJANGO_DEBUG="1", DATABASE_URL=primary, DATABASE_REPLICA_URL=replica
        )
        assert configured["DATABASES"]["replica"]["HOST"] == "replica.example"
        assert configured["CARGOTIME"] == {"READ_DATABASE_ALIAS": "replica"}
        # Unset, or empty: one database, as before.
        for unset in [{}, {"DATABASE_REPLICA_URL": ""}]:
            plain = project_settings(DJANGO_DEBUG="1", DATABASE_URL=primary, **unset)
            assert set(plain["DATABASES"]) == {"default"}
            assert "CARGOTIME" not in plain

    def test_the_project_gives_the_replica_a_short_connect_timeout(self) -> None:
        # psycopg waits 130 s for a server that takes the connection but does not
        # answer; every read would wait that long before the primary serves it.
        primary = "postgres://u:p@db.example:5432/cargo"
        replica = "postgres://u:p@replica.example:5432/cargo"
        configured = project_settings(
            DJANGO_DEBUG="1", DATABASE_URL=primary, DATABASE_REPLICA_URL=replica
        )
        assert configured["DATABASES"]["replica"]["OPTIONS"] == {"connect_timeout": 2}
        assert "OPTIONS" not in configured["DATABASES"]["default"]
        # The URL's own wins.
        configured = project_settings(
            DJANGO_DEBUG="1",
            DATABASE_URL=primary,
            DATABASE_REPLICA_URL=f"{replica}?connect_timeout=7",
        )
        assert configured["DATABASES"]["replica"]["OPTIONS"] == {"connect_timeout": 7}

    def test_the_project_refuses_a_replica_url_that_names_no_replica(self) -> None:
        primary = "postgres://u:p@db.example:5432/cargo"
        for replica, message in [
            ("replica.example", "DATABASE_REPLICA_URL is no database URL"),
            ("postgres://u:p@replica.example:port/cargo", "is no database URL"),
            ("postgres://", "DATABASE_REPLICA_URL names no database"),
            ("postgres://u:p@replica.example:5432", "names no database"),
            (primary, "names the same server and database as DATABASE_URL"),
            ("postgres://other:pw@DB.example/cargo", "the same server and database"),
        ]:
            with (
                self.subTest(replica=replica),
                self.assertRaisesMessage(ImproperlyConfigured, message) as refused,
            ):
                project_settings(
                    DJANGO_DEBUG="1", DATABASE_URL=primary, DATABASE_REPLICA_URL=replica
                )
            # Never a password in the message.
            assert ":p@" not in str(refused.exception)

    def test_the_project_refuses_a_replica_that_is_not_postgresql(self) -> None:
        for primary, replica in [
            ("", "postgres://u:p@replica.example:5432/cargo"),
            ("postgres://u:p@db.example:5432/cargo", "sqlite:///elsewhere.sqlite3"),
        ]:
            with (
                self.subTest(primary=primary, replica=replica),
                self.assertRaisesMessage(ImproperlyConfigured, "DATABASE_REPLICA_URL"),
            ):
                project_settings(
                    DJANGO_DEBUG="1",
                    DATABASE_URL=primary,
                    DATABASE_POOLER="",
                    DATABASE_REPLICA_URL=replica,
                )


class OneDatabaseTests(ReplicaAlias):
    """Without a replica, and wherever no replica can be proved up to date."""

    def setUp(self) -> None:
        self.clock = ManualClock(LONG_AGO)
        self.enterContext(override_settings(CARGOTIME={"CLOCK": self.clock}))
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        self.tracking_id = get_application().book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )

    def time_travel_json(self) -> Any:
        response = self.client.get(
            reverse(TIME_TRAVEL),
            {"tracking_id": str(self.tracking_id), "format": "json"},
        )
        assert response.status_code == 200
        return response.json()

    def test_reads_where_it_writes_without_asking_anyone_how_far_they_are(
        self,
    ) -> None:
        with CaptureQueriesContext(connection) as queries:
            assert read_alias() == "default"
            assert read_application() is get_application()
        assert len(queries) == 0
        with CaptureQueriesContext(connection) as queries:
            assert self.time_travel_json()["version"] == 1
            assert self.client.get(reverse(TIME_TRAVEL)).status_code == 200
            fleet = self.client.get(reverse(FLEET), {"format": "json"}).json()
            assert fleet["count"] == 1
        assert lsn_queries(queries.captured_queries) == []

    def test_a_read_alias_that_is_no_postgresql_replica_is_not_read(self) -> None:
        # SQLite has no replicas (cargotime.E011), and a vendor of its own is no
        # replica either (E010): reads stay where the events are written, unasked.
        sqlite: dict[str, Any] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "OPTIONS": {},
        }
        with (
            self.replica_at(**sqlite),
            override_settings(
                CARGOTIME={"CLOCK": self.clock, "READ_DATABASE_ALIAS": REPLICA}
            ),
            CaptureQueriesContext(connection) as queries,
            self.assertNoLogs(WARNINGS),
        ):
            assert read_alias() == "default"
            assert self.time_travel_json()["version"] == 1
        assert lsn_queries(queries.captured_queries) == []

    @skipUnless(ON_POSTGRESQL, "PostgreSQL's replicas; SQLite has none")
    def test_a_replica_that_is_down_leaves_the_read_to_the_primary(self) -> None:
        with (
            self.replica_at(HOST="127.0.0.1", PORT=closed_port()),
            override_settings(
                CARGOTIME={"CLOCK": self.clock, "READ_DATABASE_ALIAS": REPLICA}
            ),
        ):
            with self.assertLogs(WARNINGS, "WARNING") as logs:
                assert read_alias() == "default"
                answer = self.time_travel_json()
                fleet = self.client.get(reverse(FLEET), {"format": "json"})
            assert "cannot be read" in logs.output[0]
            assert "'replica'" in logs.output[0]
            # No error reaches anyone, and the answer is the primary's.
            assert answer["version"] == 1
            assert answer["tracking_id"] == str(self.tracking_id)
            assert fleet.status_code == 200
            assert fleet.json()["count"] == 1
            assert connections[REPLICA].connection is None

    @skipUnless(ON_POSTGRESQL, "PostgreSQL's replicas; SQLite has none")
    def test_a_replica_that_failed_is_left_alone_for_a_while(self) -> None:
        # A replica that takes its connect timeout to fail would cost every read
        # that timeout: after one failure the primary serves, unasked, for a while.
        with (
            self.replica_at(HOST="127.0.0.1", PORT=closed_port()),
            override_settings(
                CARGOTIME={"CLOCK": self.clock, "READ_DATABASE_ALIAS": REPLICA}
            ),
        ):
            with self.assertLogs(WARNINGS, "WARNING") as logs:
                assert read_alias() == "default"
            assert (
                f"asked again in {read_replica.RETRY_AFTER:g} seconds"
                in (logs.output[0])
            )
            with (
                self.assertNoLogs(WARNINGS),
                CaptureQueriesContext(connection) as queries,
            ):
                for _ in range(3):
                    assert read_alias() == "default"
                assert self.time_travel_json()["version"] == 1
            # Neither the primary's position nor the replica was asked.
            assert lsn_queries(queries.captured_queries) == []
            assert connections[REPLICA].connection is None
            # Once the while is over, the replica is asked again.
            with (
                mock.patch.object(read_replica, "RETRY_AFTER", 0),
                self.assertLogs(WARNINGS, "WARNING") as logs,
            ):
                read_replica.forget_failures()
                assert read_alias() == "default"
                assert read_alias() == "default"
            assert len(logs.output) == 2

    @skipUnless(ON_POSTGRESQL, "PostgreSQL's replicas; SQLite has none")
    def test_changed_settings_ask_the_replica_again(self) -> None:
        down = override_settings(
            CARGOTIME={"CLOCK": self.clock, "READ_DATABASE_ALIAS": REPLICA}
        )
        with (
            self.replica_at(HOST="127.0.0.1", PORT=closed_port()),
            down,
            self.assertLogs(WARNINGS, "WARNING"),
        ):
            assert read_alias() == "default"
        # The same alias, now on a server that answers (the write one, no replica):
        # the failure before is forgotten, and it is asked at once.
        with down, self.assertLogs(WARNINGS, "WARNING") as logs:
            assert read_alias() == "default"
        assert "not a replica in recovery" in logs.output[0]

    @skipUnless(ON_POSTGRESQL, "PostgreSQL's replicas; SQLite has none")
    def test_a_read_alias_not_in_recovery_is_no_replica(self) -> None:
        # The same server under a second alias: nothing says it has replayed
        # anything, for it replays nothing. The write alias serves, with a warning.
        with (
            override_settings(
                CARGOTIME={"CLOCK": self.clock, "READ_DATABASE_ALIAS": REPLICA}
            ),
            self.assertLogs(WARNINGS, "WARNING") as logs,
        ):
            assert read_alias() == "default"
            assert self.time_travel_json()["version"] == 1
            assert not connections[REPLICA].in_atomic_block
        assert "not a replica in recovery" in logs.output[0]

    @skipUnless(ON_POSTGRESQL, "PostgreSQL's replicas; SQLite has none")
    def test_a_read_inside_the_callers_transaction_reads_the_write_alias(
        self,
    ) -> None:
        # The transaction may hold writes that no replica has: it sees its own.
        with (
            self.replica_at(HOST="127.0.0.1", PORT=closed_port()),
            override_settings(
                CARGOTIME={"CLOCK": self.clock, "READ_DATABASE_ALIAS": REPLICA}
            ),
            self.assertNoLogs(WARNINGS),
            transaction.atomic(),
            CaptureQueriesContext(connection) as queries,
        ):
            assert read_alias() == "default"
        assert len(queries) == 0


def replication_position(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return str(cursor.fetchone()[0])


def wait_for_replay() -> None:
    """Wait until the replica has replayed everything the primary has written."""
    written = replication_position(PRIMARY)
    with connections[REPLICA].cursor() as cursor:
        # A bounded wait: a replica that never catches up fails the test.
        for _ in range(1200):
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [written])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"The replica never replayed up to {written}.")


def scans(alias: str) -> int:
    """Return how many scans of the test database's tables *alias*'s server counted."""
    with connections[alias].cursor() as cursor:
        # This connection's own counts, flushed now rather than within a second.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) "
            "FROM pg_stat_user_tables"
        )
        return int(cursor.fetchone()[0])


@skipUnless(
    HAS_REPLICA,
    "needs the primary and the streaming replica of .ci/replica: run "
    "`bash .ci/replica start` and export build/replica.env (make test-postgres does)",
)
class StreamingReplicaTests(ReplicaAlias):
    """A real primary and streaming replica, as .ci/replica starts them."""

    base = PRIMARY
    databases = {"default", PRIMARY, REPLICA}

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # The primary's test database, replicated: the same name on the replica.
        replica = dj_database_url.parse(REPLICA_URL)
        cls.point_replica(HOST=replica["HOST"], PORT=replica["PORT"])

    def setUp(self) -> None:
        self.clock = ManualClock(LONG_AGO)
        # Long: a replica that lags behind the primary's own background writes by
        # more than a moment would otherwise leave a read to the primary.
        self.enterContext(self.reading(wait=conf.MAX_READ_REPLICA_WAIT))
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        self.app = get_application()
        assert database_alias(self.app) == PRIMARY
        self.tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        wait_for_replay()

    def reading(self, *, wait: float) -> override_settings:
        """Write to the primary, and read the replica after at most *wait* seconds."""
        return override_settings(
            CARGOTIME={
                "DATABASE_ALIAS": PRIMARY,
                "READ_DATABASE_ALIAS": REPLICA,
                "READ_REPLICA_MAX_WAIT": wait,
                "CLOCK": self.clock,
            }
        )

    def pause_replay(self) -> None:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_pause()")
        # Resumed before the test database is flushed, whatever happens.
        self.addCleanup(self.resume_replay)

    def resume_replay(self) -> None:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")

    def served_by(self, read: Callable[[], Any]) -> tuple[Any, set[str]]:
        """Return what *read* returned, and which servers scanned tables for it."""
        before = {name: scans(name) for name in (PRIMARY, REPLICA)}
        answer = read()
        after = {name: scans(name) for name in (PRIMARY, REPLICA)}
        return answer, {name for name in before if after[name] > before[name]}

    def time_travel_json(self) -> Any:
        response = self.client.get(
            reverse(TIME_TRAVEL),
            {"tracking_id": str(self.tracking_id), "format": "json"},
        )
        assert response.status_code == 200
        return response.json()

    def time_travel_page(self) -> Any:
        response = self.client.get(
            reverse(TIME_TRAVEL), {"tracking_id": str(self.tracking_id)}
        )
        assert response.status_code == 200
        return response

    def picker(self) -> Any:
        response = self.client.get(reverse(TIME_TRAVEL))
        assert response.status_code == 200
        return response

    def fleet_json(self) -> Any:
        response = self.client.get(reverse(FLEET), {"format": "json"})
        assert response.status_code == 200
        return response.json()

    def fleet_page(self) -> Any:
        response = self.client.get(reverse(FLEET))
        assert response.status_code == 200
        return response

    def write_while_paused(self) -> UUID:
        """Change the cargo, then book another a day later; return the new one."""
        self.pause_replay()
        self.app.change_destination(self.tracking_id, Location.AUMEL)
        self.clock.advance(timedelta(days=1))
        booked = self.app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
        # The replica has neither: it would show less than the primary.
        assert (
            not EventTimestamp.objects.using(REPLICA)
            .filter(originator_id=booked)
            .exists()
        )
        assert (
            EventTimestamp.objects.using(REPLICA)
            .filter(originator_id=self.tracking_id)
            .count()
            == 1
        )
        return booked

    def assert_everything_shows(self, booked: UUID, server: str) -> None:
        answer, servers = self.served_by(self.time_travel_json)
        assert (answer["version"], answer["destination"]) == (2, "AUMEL")
        assert [event["version"] for event in answer["events"]] == [1, 2]
        assert servers == {server}, "time travel's JSON"

        page, servers = self.served_by(self.time_travel_page)
        assert page.context["visit"].cargo.version == 2
        assert [entry.version for entry in page.context["timeline"].entries] == [1, 2]
        assert servers == {server}, "time travel and its timeline"

        picker, servers = self.served_by(self.picker)
        assert str(booked) in picker.content.decode()
        assert str(self.tracking_id) in picker.content.decode()
        assert servers == {server}, "the picker"

        fleet, servers = self.served_by(self.fleet_json)
        assert fleet["count"] == 2
        cargos = {cargo["tracking_id"]: cargo for cargo in fleet["cargos"]}
        assert cargos[str(self.tracking_id)]["version"] == 2
        assert cargos[str(booked)]["version"] == 1
        assert servers == {server}, "the Fleet's JSON"

        page, servers = self.served_by(self.fleet_page)
        assert str(booked) in page.content.decode()
        assert servers == {server}, "the Fleet page"

    def test_the_replica_serves_what_it_has_replayed(self) -> None:
        answer, servers = self.served_by(self.time_travel_json)
        assert answer["version"] == 1
        assert servers == {REPLICA}
        assert read_application() is get_reader(REPLICA)

    def test_a_paused_replica_leaves_new_events_to_the_primary(self) -> None:
        booked = self.write_while_paused()
        # Short: while paused, every read waits this long before the primary serves.
        with self.reading(wait=0.05), self.assertNoLogs(WARNINGS):
            self.assert_everything_shows(booked, PRIMARY)

        # Once the replica has replayed them, it serves the same answers.
        self.resume_replay()
        wait_for_replay()
        self.assert_everything_shows(booked, REPLICA)

    def test_a_replica_that_catches_up_within_the_wait_serves_the_read(self) -> None:
        booked = self.write_while_paused()
        # Resumed as the read waits, or before it looks: the replica serves.
        self.resume_replay()
        answer, servers = self.served_by(self.fleet_json)
        assert str(booked) in {cargo["tracking_id"] for cargo in answer["cargos"]}
        assert servers == {REPLICA}

    def end_replica_session_after_its_look(self) -> Any:
        """Return a context ending the replica's session after read_alias()'s look."""

        def wrapper(execute: Any, sql: str, *args: Any) -> Any:
            result = execute(sql, *args)
            if "pg_is_in_recovery" in sql:
                pid = connections[REPLICA].connection.info.backend_pid
                params = connections[REPLICA].get_connection_params()
                with psycopg.connect(**params, autocommit=True) as killer:
                    killer.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            return result

        return connections[REPLICA].execute_wrapper(wrapper)

    def test_a_replica_that_fails_mid_read_leaves_it_to_the_primary(self) -> None:
        # The replica has replayed everything and is chosen; then its session ends
        # before the read itself runs. No error reaches anyone: the primary answers.
        reads: list[tuple[Callable[[], Any], Callable[[Any], bool]]] = [
            (self.time_travel_json, lambda answer: answer["version"] == 1),
            (self.time_travel_page, lambda page: page.status_code == 200),
            (self.fleet_json, lambda fleet: fleet["count"] == 1),
            (self.fleet_page, lambda page: page.status_code == 200),
        ]
        for read, check in reads:
            with self.subTest(read=getattr(read, "__name__", "")), ExitStack() as stack:
                stack.enter_context(self.reading(wait=conf.MAX_READ_REPLICA_WAIT))
                stack.enter_context(self.end_replica_session_after_its_look())
                logs = stack.enter_context(self.assertLogs(WARNINGS, "WARNING"))
                answer, servers = self.served_by(read)
                assert check(answer)
                assert servers == {PRIMARY}
                assert "failed mid-read" in logs.output[0]
                assert f"{read_replica.RETRY_AFTER:g} seconds" in logs.output[0]
                # Left alone for a while: the next read goes to the primary, unasked.
                assert read_alias() == PRIMARY
            # Whole again, and asked again: the replica serves.
            with self.reading(wait=conf.MAX_READ_REPLICA_WAIT):
                assert self.served_by(read)[1] == {REPLICA}

    def test_the_replica_connection_is_left_outside_a_transaction(self) -> None:
        self.pause_replay()
        self.app.change_destination(self.tracking_id, Location.AUMEL)
        with self.reading(wait=0.05):
            assert read_alias() == PRIMARY
        # It looked at the replica, and left no transaction open there.
        assert not connections[REPLICA].in_atomic_block
        status = connections[REPLICA].connection.info.transaction_status
        assert status == TransactionStatus.IDLE
