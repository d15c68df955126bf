"""The recorder's own SQL: one query per time travel, few statements per save."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from eventsourcing.application import AggregateNotFoundError
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location
from cargotime.models import EventTimestamp
from cargotime.persistence import SearchableTimestampsRecorder
from cargotime.sql import select_at_timestamp
from tests.helpers import START, ManualClock, cargo_state

MICROSECOND = timedelta(microseconds=1)
DEADLINE = START + timedelta(weeks=3)
PLACES = [Location.HAMBURG, Location.AUMEL, Location.NEWYORK, Location.TOKYO]


def recorder_of(app: SearchableTimestampsApplication) -> SearchableTimestampsRecorder:
    recorder = app.recorder
    assert isinstance(recorder, SearchableTimestampsRecorder)
    return recorder


def in_two_steps(
    app: SearchableTimestampsApplication, tracking_id: UUID, at: datetime
) -> Cargo:
    """Return the cargo the way the spec reads it: the version, then the repository."""
    version = recorder_of(app).get_version_at_timestamp(tracking_id, at)
    if version is None:
        raise AggregateNotFoundError(tracking_id)
    return cast(Cargo, app.repository.get(tracking_id, version=version))


class TestOneQueryTimeTravel(TestCase):
    def history(self, app: SearchableTimestampsApplication, clock: ManualClock) -> UUID:
        """Nine single-event saves, ties included, then a save of four events."""
        tracking_id = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        for number in range(8):
            # Every third command shares the instant of the one before it.
            if number % 3:
                clock.advance(timedelta(minutes=7, microseconds=number))
            app.change_destination(tracking_id, PLACES[number % 4])
        cargo = app.get_cargo(tracking_id)
        route = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
        cargo.change_destination(Location.STOCKHOLM, timestamp=clock.advance())
        cargo.assign_route(route, timestamp=clock.now)
        cargo.register_handling_event(
            None, Location.HONGKONG, HandlingActivity.RECEIVE, timestamp=clock.advance()
        )
        cargo.register_handling_event(
            "V1", Location.HONGKONG, HandlingActivity.LOAD, timestamp=clock.advance()
        )
        app.save(cargo)
        return tracking_id

    def instants(self, tracking_id: UUID) -> list[datetime]:
        stamps = EventTimestamp.objects.filter(originator_id=tracking_id)
        around = set()
        for stamp in stamps.values_list("timestamp", flat=True):
            around |= {stamp - MICROSECOND, stamp, stamp + MICROSECOND}
        return sorted(around)

    def test_same_cargo_as_two_steps_with_and_without_snapshots(self) -> None:
        for interval in (None, 1, 3, 4, 5):
            with self.subTest(interval=interval):
                clock = ManualClock()
                app = SearchableTimestampsApplication(
                    clock=clock, snapshot_interval=interval
                )
                tracking_id = self.history(app, clock)
                if interval in (3, 4):
                    assert SnapshotRecord.objects.filter(
                        originator_id=tracking_id
                    ).exists()
                for at in self.instants(tracking_id):
                    if at < START:
                        with self.assertRaises(AggregateNotFoundError):
                            app.get_cargo_at_timestamp(tracking_id, at)
                        continue
                    one_query = app.get_cargo_at_timestamp(tracking_id, at)
                    assert one_query == in_two_steps(app, tracking_id, at)
                final = app.get_cargo_at_timestamp(tracking_id, clock.now)
                assert final.version == 13
                assert final == app.get_cargo(tracking_id)

    def test_a_snapshot_is_read_with_the_events_after_it(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=4)
        tracking_id = self.history(app, clock)
        snapshots = SnapshotRecord.objects.filter(originator_id=tracking_id)
        # Each save reaching a multiple of 4 leaves one snapshot, as of its end.
        assert sorted(snapshots.values_list("originator_version", flat=True)) == [
            4,
            8,
            13,
        ]
        at_ten = EventTimestamp.objects.get(
            originator_id=tracking_id, originator_version=10
        ).timestamp
        stored = recorder_of(app).select_events_at_timestamp(
            tracking_id, at_ten, snapshot=True
        )
        # Version 11 shares the instant of version 10: the later one wins.
        assert [event.originator_version for event in stored] == [8, 9, 10, 11]
        assert stored[0].topic.endswith("Cargo.Snapshot")

    def test_errors_are_the_documented_ones(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock)
        tracking_id = app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
        with self.assertRaisesMessage(AggregateNotFoundError, "did not exist at"):
            app.get_cargo_at_timestamp(tracking_id, START - MICROSECOND)
        with self.assertRaises(AggregateNotFoundError):
            app.get_cargo_at_timestamp(uuid4(), START)
        with self.assertRaisesMessage(ValueError, "must be timezone-aware"):
            app.get_cargo_at_timestamp(tracking_id, datetime(2024, 3, 1, 9))

    def test_one_query_whatever_the_history(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=10)
        tracking_id = self.history(app, clock)
        for at in (START, clock.now):
            with CaptureQueriesContext(connection) as queries:
                app.get_cargo_at_timestamp(tracking_id, at)
            assert len(queries) == 1
            # PostgreSQL keeps the plans of migration 0003's function; SQLite plans
            # its statements for next to nothing.
            called = "cargotime_events_at(" in queries[0]["sql"]
            assert called is (connection.vendor == "postgresql")


class TestOneQueryRead(TestCase):
    """get_cargo, and so every command, reads a cargo in one statement."""

    def steps(self, app: SearchableTimestampsApplication, clock: ManualClock) -> UUID:
        """Eight commands one by one, then a save of four events, checking each."""
        tracking_id = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        self.assert_same_as_the_library(app, tracking_id)
        for number in range(8):
            clock.advance(timedelta(minutes=7, microseconds=number))
            app.change_destination(tracking_id, PLACES[number % 4])
            self.assert_same_as_the_library(app, tracking_id)
        cargo = app.get_cargo(tracking_id)
        cargo.change_destination(Location.STOCKHOLM, timestamp=clock.advance())
        cargo.assign_route(
            REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0], timestamp=clock.now
        )
        cargo.register_handling_event(
            None, Location.HONGKONG, HandlingActivity.RECEIVE, timestamp=clock.advance()
        )
        cargo.register_handling_event(
            "V1", Location.HONGKONG, HandlingActivity.LOAD, timestamp=clock.advance()
        )
        app.save(cargo)
        self.assert_same_as_the_library(app, tracking_id)
        return tracking_id

    def assert_same_as_the_library(
        self, app: SearchableTimestampsApplication, tracking_id: UUID
    ) -> None:
        ours = app.get_cargo(tracking_id)
        library = cast(Cargo, app.repository.get(tracking_id))
        assert cargo_state(ours) == cargo_state(library)
        assert ours.id == library.id
        assert ours.created_on == library.created_on
        assert ours.modified_on == library.modified_on

    def test_same_cargo_as_the_librarys_repository(self) -> None:
        for interval in (None, 1, 3, 4, 5):
            with self.subTest(interval=interval):
                clock = ManualClock()
                app = SearchableTimestampsApplication(
                    clock=clock, snapshot_interval=interval
                )
                tracking_id = self.steps(app, clock)
                snapshots = SnapshotRecord.objects.filter(originator_id=tracking_id)
                assert snapshots.exists() is (interval is not None)
                self.assert_same_as_the_library(app, tracking_id)

    def test_snapshots_taken_earlier_are_still_read_without_an_interval(self) -> None:
        clock = ManualClock()
        tracking_id = self.steps(
            SearchableTimestampsApplication(clock=clock, snapshot_interval=3), clock
        )
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=None)
        for destination in (Location.TOKYO, Location.AUMEL):
            clock.advance()
            app.change_destination(tracking_id, destination)
        stored = recorder_of(app).select_latest_events(tracking_id, snapshot=True)
        latest = SnapshotRecord.objects.filter(originator_id=tracking_id).latest(
            "originator_version"
        )
        assert stored[0].originator_version == latest.originator_version
        assert stored[0].topic.endswith("Cargo.Snapshot")
        versions = [event.originator_version for event in stored[1:]]
        assert versions == [14, 15]
        self.assert_same_as_the_library(app, tracking_id)

    def test_one_query_for_a_read_and_for_a_commands_read(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=4)
        tracking_id = self.steps(app, clock)
        with CaptureQueriesContext(connection) as queries:
            app.get_cargo(tracking_id)
        assert len(queries) == 1
        with CaptureQueriesContext(connection) as queries:
            app.change_destination(tracking_id, Location.TOKYO)
        reads = [
            query["sql"]
            for query in queries
            if query["sql"].lstrip().upper().startswith(("SELECT", "WITH SNAPSHOT"))
        ]
        assert len(reads) == 1, reads

    def test_an_unknown_cargo_or_another_applications_is_not_found(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=1)
        tracking_id = app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
        with self.assertRaises(AggregateNotFoundError):
            app.get_cargo(uuid4())
        other = SearchableTimestampsApplication(clock=clock, name="othercargo")
        with self.assertRaises(AggregateNotFoundError):
            other.get_cargo(tracking_id)
        with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
            app.get_cargo("not-a-uuid")  # type: ignore[arg-type]

    def test_an_aggregate_cache_keeps_the_librarys_read(self) -> None:
        clock = ManualClock()
        app = SearchableTimestampsApplication(
            env={
                **SearchableTimestampsApplication.env,
                "AGGREGATE_CACHE_MAXSIZE": "10",
            },
            clock=clock,
        )
        tracking_id = app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
        app.get_cargo(tracking_id)
        with CaptureQueriesContext(connection) as queries:
            cargo = app.get_cargo(tracking_id)
        # Served from the cache, fast-forwarded by the library's own read of the
        # events after the cached version, not by cargotime's read of the whole.
        assert len(queries) == 1
        assert " AS part" not in queries[0]["sql"]
        assert cargo.destination == Location.HAMBURG


class TestBulkInserts(TestCase):
    def save_cargo_of(self, app: SearchableTimestampsApplication, events: int) -> UUID:
        clock = ManualClock()
        cargo = Cargo.new_booking(
            Location.TOKYO, Location.HAMBURG, DEADLINE, timestamp=clock.now
        )
        for number in range(events - 1):
            cargo.change_destination(PLACES[number % 4], timestamp=clock.advance())
        app.save(cargo)
        return cargo.id

    def test_statements_do_not_grow_with_the_events_of_a_save(self) -> None:
        app = SearchableTimestampsApplication(snapshot_interval=None)
        counts = []
        for events in (1, 500):
            with CaptureQueriesContext(connection) as queries:
                tracking_id = self.save_cargo_of(app, events)
            counts.append(len(queries))
            assert StoredEventRecord.objects.filter(
                originator_id=tracking_id
            ).count() == (events)
            assert (
                EventTimestamp.objects.filter(originator_id=tracking_id).count()
                == events
            )
        assert counts[0] == counts[1]

    def test_notification_ids_follow_the_events(self) -> None:
        app = SearchableTimestampsApplication(snapshot_interval=None)
        clock = ManualClock()
        cargo = Cargo.new_booking(
            Location.TOKYO, Location.HAMBURG, DEADLINE, timestamp=clock.now
        )
        for number in range(250):
            cargo.change_destination(PLACES[number % 4], timestamp=clock.advance())
        recordings = app.save(cargo)
        ids = [recording.notification.id for recording in recordings]
        assert ids == sorted(ids)
        assert len(set(ids)) == 251
        stored = StoredEventRecord.objects.filter(id__in=ids)
        by_id = dict(stored.values_list("id", "originator_version"))
        assert [by_id[i] for i in ids] == list(range(1, 252))

    def test_the_snapshot_is_written_with_the_events(self) -> None:
        app = SearchableTimestampsApplication(snapshot_interval=100)
        with CaptureQueriesContext(connection) as queries:
            tracking_id = self.save_cargo_of(app, 250)
        snapshots = SnapshotRecord.objects.filter(originator_id=tracking_id)
        # One snapshot, as of the save's end; nothing read back to take it.
        assert list(snapshots.values_list("originator_version", flat=True)) == [250]
        assert not any(
            query["sql"].lstrip().upper().startswith("SELECT") for query in queries
        )
        assert app.get_cargo(tracking_id) == app.repository.get(
            tracking_id, version=250
        )


class TestLookupPlan(TestCase):
    """The version lookup is a probe of the lookup index, never a sort of rows."""

    def plan(self) -> Any:
        statement = select_at_timestamp(
            StoredEventRecord, EventTimestamp, SnapshotRecord
        )
        params: dict[str, Any] = {"id": uuid4(), "at": START, "app": "cargotime"}
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                params["id"] = params["id"].hex
                cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
                return cursor.fetchall()
            # Tables this small could be read whole; the question is whether the
            # index alone can answer, in its own order.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", params)
            (plan,) = cursor.fetchone()
        return json.loads(plan) if isinstance(plan, str) else plan

    def test_the_lookup_index_answers_without_a_sort(self) -> None:
        plan = self.plan()
        if connection.vendor == "sqlite":
            self.check_sqlite(plan)
        else:
            self.check_postgresql(plan[0]["Plan"])

    def check_sqlite(self, rows: list[tuple[int, int, int, str]]) -> None:
        (probe,) = [row for row in rows if "cargotime_eventtimestamp" in row[3]]
        assert "USING COVERING INDEX cargotime_et_app_lookup" in probe[3], rows
        # A sort for the lookup's ORDER BY would sit beside the probe.
        beside = [detail for _, parent, _, detail in rows if parent == probe[1]]
        assert not any("TEMP B-TREE" in detail for detail in beside), rows

    def test_the_postgresql_function_probes_the_same_way(self) -> None:
        if connection.vendor != "postgresql":
            # Migration 0003 creates the PL/pgSQL function on PostgreSQL only.
            self.skipTest("PostgreSQL's function; the PostgreSQL run checks it")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(string_agg(pg_get_functiondef(oid), ''), '') "
                "FROM pg_proc WHERE proname = 'cargotime_events_at'"
            )
            (definition,) = cursor.fetchone()
        assert 'ORDER BY i."timestamp" DESC, i.originator_version DESC' in definition
        assert "LIMIT 1" in definition

    def check_postgresql(self, plan: dict[str, Any]) -> None:
        (cte,) = [
            node
            for node in plan.get("Plans", [])
            if node.get("Subplan Name") == "CTE at_version"
        ]
        nodes = list(walk(cte))
        assert any(
            node.get("Index Name") == "cargotime_et_app_lookup"
            and node["Node Type"] in {"Index Only Scan", "Index Scan"}
            for node in nodes
        ), nodes
        assert not any(node["Node Type"] == "Sort" for node in nodes), nodes


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node] + [child for sub in node.get("Plans", []) for child in walk(sub)]


class TestVisitReads(TestCase):
    """select_visit() and select_field_sources(): the reads the admin builds on."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)
        self.tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        for place in PLACES:
            self.clock.advance(timedelta(minutes=5))
            self.app.change_destination(self.tracking_id, place)
        self.recorder = recorder_of(self.app)
        self.stamps = dict(
            EventTimestamp.objects.filter(originator_id=self.tracking_id).values_list(
                "originator_version", "timestamp"
            )
        )

    def test_reads_the_span_the_version_and_the_page_with_index_timestamps(
        self,
    ) -> None:
        for kwargs, shown, page in [
            ({"timestamp": self.stamps[3]}, 3, [1, 2, 3, 4, 5]),
            ({"version": 2}, 2, [1, 2, 3, 4, 5]),
            ({"version": 4, "window": (1, 3)}, 4, [1, 2, 3, 4]),
            ({"version": 4, "window": (10, 20)}, 4, [1, 2, 3, 4]),
        ]:
            for snapshot in (True, False):
                with self.subTest(kwargs=kwargs, snapshot=snapshot):
                    with CaptureQueriesContext(connection) as queries:
                        rows = self.recorder.select_visit(
                            self.tracking_id,
                            size=50,
                            snapshot=snapshot,
                            timestamps=True,
                            **kwargs,
                        )
                    assert len(queries) == 1
                    parts = {
                        part: [r for r in rows if r[0] == part] for part in (0, 1, 3)
                    }
                    assert [(r[1], r[4]) for r in parts[0]] == [
                        (1, self.stamps[1]),
                        (5, self.stamps[5]),
                    ]
                    assert [r[1] for r in parts[1]] == [shown]
                    events = parts[3]
                    assert [r[1] for r in events] == page
                    # Every event with its index row's timestamp where that costs
                    # less than decoding it (SQLite), and its state.
                    if connection.vendor == "sqlite":
                        assert all(r[4] == self.stamps[r[1]] for r in events)
                    else:
                        assert all(r[4] is None for r in events)
                    assert all(isinstance(r[3], bytes) and r[2] for r in events)

    def test_reads_nothing_before_the_first_event_or_for_an_unknown_cargo(
        self,
    ) -> None:
        before = self.recorder.select_visit(
            self.tracking_id,
            timestamp=self.stamps[1] - MICROSECOND,
            size=50,
            snapshot=True,
        )
        assert [part for part, *_ in before] == [0, 0]
        assert (
            self.recorder.select_visit(uuid4(), version=1, size=50, snapshot=True) == []
        )

    def test_field_sources_with_each_part_empty(self) -> None:
        cargo = self.app.get_cargo(self.tracking_id)
        values = [
            "HONGKONG",
            "TOKYO",
            DEADLINE,
            "NOT_RECEIVED",
            "NOT_ROUTED",
            False,
            None,
            None,
            None,
            None,
        ]
        assert cargo.destination is Location.TOKYO
        topics = [Cargo.DestinationChanged.__module__ + ":Cargo.DestinationChanged"]
        for plans in ([], topics):
            with self.subTest(plans=plans):
                with CaptureQueriesContext(connection) as queries:
                    found = self.recorder.select_field_sources(
                        self.tracking_id, 5, values, first_version=1, topics=plans
                    )
                assert len(queries) == 1
                assert found is not None
                last, events = found
                # The destination held another value up to version 4; nothing else
                # ever differed.
                assert last == [None, 4, None, None, None, None, None, None, None, None]
                assert [event.originator_version for event in events] == [1, 5]
        # Every value None: every column that ever held a value differs.
        found = self.recorder.select_field_sources(
            self.tracking_id, 5, [None] * 10, first_version=1, topics=[]
        )
        assert found is not None
        assert found[0][:2] == [5, 5] and found[0][6:] == [None] * 4
        # An unknown cargo: no rows, no events.
        assert self.recorder.select_field_sources(
            uuid4(), 5, values, first_version=1, topics=topics
        ) == ([None] * 10, [])
