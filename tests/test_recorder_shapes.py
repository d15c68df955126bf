"""Every shape of save the recorder's SQL is built for: 0, 1, a few and many rows."""

from __future__ import annotations

import itertools
from datetime import timedelta
from uuid import UUID, uuid4

from django.db import connection
from django.test import TestCase
from eventsourcing.persistence import StoredEvent
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

from cargotime import sql
from cargotime.application import (
    EVENT_TIMESTAMPS_KWARG,
    SNAPSHOTS_KWARG,
    SearchableTimestampsApplication,
)
from cargotime.domain import Location
from cargotime.models import EventTimestamp
from tests.helpers import START, ManualClock

# None, one, a few (PostgreSQL lists them as VALUES) and many (it sends arrays).
COUNTS = (0, 1, 3, sql.FEW_ROWS + 5)


def stored(originator_id: UUID, count: int) -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=originator_id,
            originator_version=version,
            topic="tests:Thing",
            state=b'{"n": %d}' % version,
        )
        for version in range(1, count + 1)
    ]


def index_rows(originator_id: UUID, count: int) -> list[tuple[object, ...]]:
    return [
        (
            originator_id,
            version,
            START + timedelta(minutes=version),
            "HONGKONG",
            "STOCKHOLM",
            START + timedelta(weeks=4),
            "IN_PORT" if version % 2 else "ONBOARD_CARRIER",
            "ROUTED",
            version == 2,
            "NEWYORK" if version > 1 else None,
            f"V{version}" if version % 2 == 0 else None,
            START + timedelta(weeks=1) if version > 1 else None,
            '[["HONGKONG","V1","STOCKHOLM"]]' if version > 1 else None,
        )
        for version in range(1, count + 1)
    ]


class EveryMixOfRowsTests(TestCase):
    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication()
        self.recorder = self.app.recorder

    def test_each_mix_of_events_index_rows_and_snapshots_is_stored_exactly(
        self,
    ) -> None:
        for events, rows, snapshots in itertools.product(COUNTS, repeat=3):
            with self.subTest(events=events, rows=rows, snapshots=snapshots):
                event_id, row_id, snapshot_id = uuid4(), uuid4(), uuid4()
                before = StoredEventRecord.objects.count()
                ids = self.recorder.insert_events(
                    stored(event_id, events),
                    **{
                        EVENT_TIMESTAMPS_KWARG: index_rows(row_id, rows),
                        SNAPSHOTS_KWARG: stored(snapshot_id, snapshots),
                    },
                )
                assert ids is not None
                assert len(ids) == events
                # Notification ids in the order the events were given.
                assert list(ids) == sorted(ids)
                assert StoredEventRecord.objects.count() == before + events
                assert list(
                    StoredEventRecord.objects.filter(originator_id=event_id)
                    .order_by("id")
                    .values_list("id", "originator_version")
                ) == list(zip(ids, range(1, events + 1), strict=True))
                written = list(
                    EventTimestamp.objects.filter(originator_id=row_id)
                    .order_by("originator_version")
                    .values_list(*sql.INDEX_COLUMNS)
                )
                assert written == [
                    ("cargotime", *row) for row in index_rows(row_id, rows)
                ]
                assert SnapshotRecord.objects.filter(
                    originator_id=snapshot_id
                ).count() == (snapshots)

    def test_nothing_at_all_stores_nothing_and_sends_nothing(self) -> None:
        with self.assertNumQueries(0):
            assert self.recorder.insert_events([]) == []

    def test_the_statement_names_only_the_tables_that_get_rows(self) -> None:
        tables = (StoredEventRecord, EventTimestamp, SnapshotRecord)
        for counts in itertools.product((0, 2), repeat=3):
            if not any(counts):
                with self.assertRaises(ValueError):
                    sql.insert_returning_ids(*tables, counts)
                continue
            statement = sql.insert_returning_ids(*tables, counts)
            assert statement.startswith("WITH new_")
            for name, count in zip(
                ("new_events", "new_index_rows", "new_snapshots"), counts, strict=True
            ):
                assert (f"{name} AS (" in statement) == bool(count), statement


class SaveWithNothingPendingTests(TestCase):
    def test_saving_an_unchanged_cargo_stores_nothing_and_succeeds(self) -> None:
        clock = ManualClock()
        for interval in (None, 1, 20):
            with self.subTest(snapshot_interval=interval):
                app = SearchableTimestampsApplication(
                    clock=clock, snapshot_interval=interval
                )
                tracking_id = app.book_new_cargo(
                    Location.HONGKONG, Location.STOCKHOLM, START + timedelta(weeks=4)
                )
                counts = (
                    StoredEventRecord.objects.count(),
                    EventTimestamp.objects.count(),
                    SnapshotRecord.objects.count(),
                )
                cargo = app.get_cargo(tracking_id)
                assert app.save(cargo) == []
                app.save()
                assert (
                    StoredEventRecord.objects.count(),
                    EventTimestamp.objects.count(),
                    SnapshotRecord.objects.count(),
                ) == counts
                # The cargo goes on as before.
                clock.advance()
                app.change_destination(tracking_id, Location.HAMBURG)
                assert app.get_cargo(tracking_id).version == 2
                assert connection.vendor in {"sqlite", "postgresql"}
