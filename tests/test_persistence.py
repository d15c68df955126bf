"""The recorder: events and their index rows, together or not at all."""

from __future__ import annotations

import threading
from datetime import timedelta
from uuid import UUID, uuid4

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.test import TestCase, TransactionTestCase
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.tests import persistence as library_tests
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

from cargotime.application import (
    EVENT_TIMESTAMPS_KWARG,
    SearchableTimestampsApplication,
)
from cargotime.domain import Cargo, Location
from cargotime.models import EventTimestamp
from cargotime.persistence import SearchableTimestampsRecorder
from tests.helpers import START, ManualClock

MICROSECOND = timedelta(microseconds=1)


def stored_versions(tracking_id: UUID, using: str = "default") -> list[int]:
    records = StoredEventRecord.objects.using(using).filter(originator_id=tracking_id)
    return sorted(records.values_list("originator_version", flat=True))


def indexed_versions(tracking_id: UUID, using: str = "default") -> list[int]:
    rows = EventTimestamp.objects.using(using).filter(originator_id=tracking_id)
    return sorted(rows.values_list("originator_version", flat=True))


class TestAtomicity(TransactionTestCase):
    """Real commits and rollbacks: the recorder's transaction is the outermost one."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.deadline = START + timedelta(weeks=3)

    def test_failing_index_write_stores_no_event(self) -> None:
        tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, self.deadline
        )
        # A row already holding version 2 makes the index insert of the next event fail.
        EventTimestamp.objects.create(
            application_name="cargotime",
            originator_id=tracking_id,
            originator_version=2,
            timestamp=START,
        )
        self.clock.advance()
        with self.assertRaises(IntegrityError):
            self.app.change_destination(tracking_id, Location.HAMBURG)

        assert stored_versions(tracking_id) == [1]
        assert self.app.get_cargo(tracking_id).destination is Location.STOCKHOLM

        # Once the index can take it, the same command stores event and row together.
        EventTimestamp.objects.filter(originator_version=2).delete()
        self.app.change_destination(tracking_id, Location.HAMBURG)
        assert stored_versions(tracking_id) == [1, 2]
        assert indexed_versions(tracking_id) == [1, 2]

    def test_failing_index_write_stores_no_booking(self) -> None:
        cargo = Cargo.new_booking(
            Location.HONGKONG, Location.STOCKHOLM, self.deadline, timestamp=START
        )
        EventTimestamp.objects.create(
            application_name="cargotime",
            originator_id=cargo.id,
            originator_version=1,
            timestamp=START,
        )
        with self.assertRaises(IntegrityError):
            self.app.save(cargo)
        assert stored_versions(cargo.id) == []
        with self.assertRaises(AggregateNotFoundError):
            self.app.get_cargo(cargo.id)

    def test_concurrency_conflict_leaves_no_index_row(self) -> None:
        tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, self.deadline
        )
        other = SearchableTimestampsApplication(clock=self.clock)
        ours = self.app.get_cargo(tracking_id)
        stale = other.get_cargo(tracking_id)

        first = self.clock.advance()
        ours.change_destination(Location.HAMBURG, timestamp=first)
        self.app.save(ours)

        # The stale copy conflicts on version 2; the new cargo saved with it does not.
        stale.change_destination(Location.AUMEL, timestamp=first + timedelta(hours=1))
        newcomer = Cargo.new_booking(
            Location.TOKYO, Location.STOCKHOLM, self.deadline, timestamp=first
        )
        with self.assertRaises(IntegrityError):
            other.save(newcomer, stale)

        assert stored_versions(newcomer.id) == []
        assert indexed_versions(newcomer.id) == []
        assert stored_versions(tracking_id) == [1, 2]
        assert list(
            EventTimestamp.objects.filter(originator_id=tracking_id)
            .order_by("originator_version")
            .values_list("originator_version", "timestamp")
        ) == [(1, START), (2, first)]
        assert other.get_cargo(tracking_id).destination is Location.HAMBURG

    def test_duplicate_version_leaves_none_of_the_index_rows(self) -> None:
        recorder = self.app.recorder
        originator_id = uuid4()
        event = StoredEvent(
            originator_id=originator_id, originator_version=1, topic="t", state=b"{}"
        )
        recorder.insert_events([event], **{EVENT_TIMESTAMPS_KWARG: []})
        # Index rows for versions that are free, passed with an event that is not.
        state: tuple[object, ...] = ("HONGKONG", "STOCKHOLM", START, "NOT_RECEIVED")
        state += ("NOT_ROUTED", False, None, None, None, None)
        rows = [(originator_id, 7, START, *state), (uuid4(), 1, START, *state)]
        with self.assertRaises(IntegrityError):
            recorder.insert_events([event], **{EVENT_TIMESTAMPS_KWARG: rows})
        assert EventTimestamp.objects.count() == 0


class TestIndexRows(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        recorder = self.app.recorder
        assert isinstance(recorder, SearchableTimestampsRecorder)
        self.recorder = recorder

    def test_one_row_per_cargo_event_with_its_timestamp(self) -> None:
        tracking_id = self.app.book_new_cargo(
            Location.NLRTM, Location.USDAL, START + timedelta(weeks=3)
        )
        changed_at = self.clock.advance(timedelta(minutes=3, microseconds=17))
        self.app.change_destination(tracking_id, Location.AUMEL)
        rows = EventTimestamp.objects.filter(originator_id=tracking_id)
        assert list(
            rows.order_by("originator_version").values_list(
                "originator_version", "timestamp"
            )
        ) == [(1, START), (2, changed_at)]

    def test_plain_insert_events_writes_no_index_row(self) -> None:
        originator_id = uuid4()
        event = StoredEvent(
            originator_id=originator_id, originator_version=1, topic="t", state=b"{}"
        )
        notification_ids = self.recorder.insert_events([event])
        assert notification_ids is not None
        assert len(notification_ids) == 1
        assert stored_versions(originator_id) == [1]
        assert EventTimestamp.objects.count() == 0

    def test_get_version_at_timestamp(self) -> None:
        tracking_id = self.app.book_new_cargo(
            Location.NLRTM, Location.USDAL, START + timedelta(weeks=3)
        )
        self.app.change_destination(tracking_id, Location.AUMEL)  # Same instant.
        later = self.clock.advance()
        self.app.change_destination(tracking_id, Location.USDAL)

        lookup = self.recorder.get_version_at_timestamp
        assert lookup(tracking_id, START - MICROSECOND) is None
        assert lookup(tracking_id, START) == 2
        assert lookup(tracking_id, later - MICROSECOND) == 2
        assert lookup(tracking_id, later) == 3
        assert lookup(tracking_id, later + timedelta(days=1000)) == 3
        assert lookup(uuid4(), later) is None

    def test_latest_timestamp_wins_over_latest_version(self) -> None:
        # Rows of a history stored out of order (before the domain refused it): the
        # state at T follows the row with the highest (timestamp, version) at or
        # before T, not simply the highest version.
        tracking_id = uuid4()
        for version, hours in ((1, 0), (2, 2), (3, 1)):
            EventTimestamp.objects.create(
                application_name=self.app.name,
                originator_id=tracking_id,
                originator_version=version,
                timestamp=START + timedelta(hours=hours),
            )
        lookup = self.recorder.get_version_at_timestamp
        assert lookup(tracking_id, START + timedelta(minutes=59)) == 1
        assert lookup(tracking_id, START + timedelta(hours=1)) == 3
        assert lookup(tracking_id, START + timedelta(minutes=90)) == 3
        assert lookup(tracking_id, START + timedelta(hours=2)) == 2

    def test_the_domain_stores_no_history_out_of_order(self) -> None:
        tracking_id = self.app.book_new_cargo(
            Location.NLRTM, Location.USDAL, START + timedelta(weeks=3)
        )
        self.clock.now = START + timedelta(hours=2)
        self.app.change_destination(tracking_id, Location.AUMEL)
        self.clock.now = START + timedelta(hours=1)
        with self.assertRaisesMessage(ValueError, "goes back before"):
            self.app.change_destination(tracking_id, Location.HAMBURG)
        assert stored_versions(tracking_id) == [1, 2]


class TestSecondaryDatabase(TestCase):
    databases = {"default", "secondary"}

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(
            env={"DJANGO_DB_ALIAS": "secondary"},
            clock=self.clock,
            snapshot_interval=2,
        )
        self.deadline = START + timedelta(weeks=3)

    def test_events_index_rows_and_snapshots_land_there_together(self) -> None:
        recorder = self.app.recorder
        assert isinstance(recorder, SearchableTimestampsRecorder)
        assert recorder.using == "secondary"

        tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, self.deadline
        )
        changed_at = self.clock.advance()
        self.app.change_destination(tracking_id, Location.HAMBURG)
        self.clock.advance()
        self.app.change_destination(tracking_id, Location.STOCKHOLM)

        assert stored_versions(tracking_id, "secondary") == [1, 2, 3]
        assert indexed_versions(tracking_id, "secondary") == [1, 2, 3]
        snapshots = SnapshotRecord.objects.using("secondary")
        assert list(snapshots.values_list("originator_version", flat=True)) == [2]

        assert StoredEventRecord.objects.using("default").count() == 0
        assert EventTimestamp.objects.using("default").count() == 0
        assert SnapshotRecord.objects.using("default").count() == 0

        cargo = self.app.get_cargo_at_timestamp(tracking_id, changed_at)
        assert cargo.version == 2
        assert cargo.destination is Location.HAMBURG

    def test_failing_index_write_there_stores_no_event_there(self) -> None:
        tracking_id = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, self.deadline
        )
        EventTimestamp.objects.using("secondary").create(
            application_name="cargotime",
            originator_id=tracking_id,
            originator_version=2,
            timestamp=START,
        )
        with self.assertRaises(IntegrityError):
            self.app.change_destination(tracking_id, Location.HAMBURG)
        assert stored_versions(tracking_id, "secondary") == [1]
        assert StoredEventRecord.objects.using("default").count() == 0


class TestLibraryApplicationRecorderSuite(
    TransactionTestCase,
    library_tests.ApplicationRecorderTestCase[SearchableTimestampsRecorder],
):
    """The eventsourcing library's own recorder tests, run on our recorder."""

    # The library expects notification IDs to start at 1 in every test.
    reset_sequences = True

    def setUp(self) -> None:
        super().setUp()
        self.thread_connections: list[BaseDatabaseWrapper] = []
        connection_created.connect(self.remember_thread_connection)

    def tearDown(self) -> None:
        connection_created.disconnect(self.remember_thread_connection)
        # The library's reader threads may still be finishing a query: wait for them.
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(timeout=10)
        # They never close their connections. Close them now, so that neither the
        # flush nor the final DROP DATABASE waits for the garbage collector.
        for wrapper in self.thread_connections:
            if wrapper.connection is not None:
                wrapper.connection.close()
        super().tearDown()

    def remember_thread_connection(
        self, sender: object, connection: BaseDatabaseWrapper, **kwargs: object
    ) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.thread_connections.append(connection)

    def create_recorder(self) -> SearchableTimestampsRecorder:
        return SearchableTimestampsRecorder(
            application_name="recordertests", model=StoredEventRecord
        )
