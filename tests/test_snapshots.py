from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

from django.test import TestCase
from eventsourcing_django.models import SnapshotRecord

from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.domain import (
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    Itinerary,
    Location,
)
from tests.helpers import CLAIM, LOAD, RECEIVE, START, UNLOAD, ManualClock, cargo_state

DEADLINE = START + timedelta(weeks=4)
HONGKONG_STOCKHOLM = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
TOKYO_STOCKHOLM = REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0]


def voyage(app: BookingApplication, clock: ManualClock) -> tuple[UUID, list[datetime]]:
    """Ship a cargo through rerouting to its claim; return each event's instant."""
    instants = [clock.now]
    tracking_id = app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, DEADLINE)

    def then(step: timedelta, command: str, *args: object) -> None:
        instants.append(clock.advance(step))
        getattr(app, command)(tracking_id, *args)

    hour = timedelta(hours=1)
    then(hour, "assign_route", HONGKONG_STOCKHOLM)
    then(hour, "register_handling_event", None, Location.HONGKONG, RECEIVE)
    # Two events at one instant, on both sides of a snapshot every 4 events.
    then(hour, "register_handling_event", "V1", Location.HONGKONG, LOAD)
    then(timedelta(0), "register_handling_event", "V1", Location.NEWYORK, UNLOAD)
    then(hour, "register_handling_event", "V1", Location.TOKYO, UNLOAD)  # misdirected
    then(hour, "change_destination", Location.STOCKHOLM)
    then(hour, "assign_route", TOKYO_STOCKHOLM)
    then(hour, "register_handling_event", "V3", Location.TOKYO, LOAD)
    then(hour, "register_handling_event", "V3", Location.HAMBURG, UNLOAD)
    then(
        timedelta(microseconds=2),
        "register_handling_event",
        "V4",
        Location.HAMBURG,
        LOAD,
    )
    then(hour, "register_handling_event", "V4", Location.STOCKHOLM, UNLOAD)
    then(hour, "register_handling_event", None, Location.STOCKHOLM, CLAIM)
    return tracking_id, instants


class SnapshotTests(TestCase):
    def ship(self, interval: int | None) -> tuple[UUID, list[datetime]]:
        clock = ManualClock()
        self.app = SearchableTimestampsApplication(
            clock=clock, snapshot_interval=interval
        )
        self.addCleanup(self.app.close)
        tracking_id, instants = voyage(self.app, clock)
        # The same events replayed from the first, ignoring every snapshot.
        self.replay = BookingApplication(
            env={"PERSISTENCE_MODULE": "eventsourcing_django"}
        )
        self.addCleanup(self.replay.close)
        assert self.replay.snapshots is None
        return tracking_id, instants

    def replayed(self, tracking_id: UUID, version: int) -> Cargo:
        return cast(Cargo, self.replay.repository.get(tracking_id, version=version))

    def snapshot_versions(self, tracking_id: UUID) -> list[int]:
        return sorted(
            SnapshotRecord.objects.filter(originator_id=tracking_id).values_list(
                "originator_version", flat=True
            )
        )

    def test_snapshots_are_taken_every_interval(self) -> None:
        for interval, versions in [
            (4, [4, 8, 12]),
            (5, [5, 10]),
            (13, [13]),
            (14, []),
            (None, []),
        ]:
            with self.subTest(interval=interval):
                tracking_id, _ = self.ship(interval)
                assert self.app.get_cargo(tracking_id).version == 13
                assert self.snapshot_versions(tracking_id) == versions

    def test_time_travel_is_exact_just_before_at_and_after_every_version(self) -> None:
        tick = timedelta(microseconds=1)
        for interval in (1, 2, 4, 5, None):
            with self.subTest(interval=interval):
                tracking_id, instants = self.ship(interval)
                for version, at in enumerate(instants, start=1):
                    # Events 4 and 5 share an instant: it shows the later one.
                    shown = 5 if version == 4 else version
                    cargo = self.app.get_cargo_at_timestamp(tracking_id, at)
                    assert cargo_state(cargo) == cargo_state(
                        self.replayed(tracking_id, shown)
                    )
                    after = self.app.get_cargo_at_timestamp(tracking_id, at + tick)
                    assert after.version == shown
                    if version > 1:
                        before = self.app.get_cargo_at_timestamp(tracking_id, at - tick)
                        previous = 3 if version in (4, 5) else version - 1
                        assert cargo_state(before) == cargo_state(
                            self.replayed(tracking_id, previous)
                        )

    def test_a_cargo_built_from_a_snapshot_alone_has_its_tuples_back(self) -> None:
        tracking_id, _ = self.ship(4)
        assert self.app.snapshots is not None
        for version in (4, 8, 12):
            [snapshot] = self.app.snapshots.get(
                tracking_id, lte=version, desc=True, limit=1
            )
            assert snapshot.originator_version == version
            assert isinstance(snapshot, Cargo.Snapshot)
            cargo = snapshot.mutate(None)
            expected = self.replayed(tracking_id, version)
            assert cargo_state(cargo) == cargo_state(expected)
            activity = cargo.next_expected_activity
            assert activity is not None
            assert type(activity) is tuple
            assert type(activity[0]) is HandlingActivity
            assert type(activity[1]) is Location
            assert isinstance(cargo.route, Itinerary)
            assert type(cargo.route.legs) is tuple

    def test_a_misdirected_cargo_without_an_expected_activity_survives_a_snapshot(
        self,
    ) -> None:
        tracking_id, instants = self.ship(6)
        assert self.snapshot_versions(tracking_id) == [6, 12]
        misdirected = self.app.get_cargo_at_timestamp(tracking_id, instants[5])
        assert misdirected.version == 6
        assert misdirected.is_misdirected
        assert misdirected.next_expected_activity is None
        assert cargo_state(misdirected) == cargo_state(self.replayed(tracking_id, 6))

    def test_the_latest_state_reads_through_the_snapshots(self) -> None:
        tracking_id, instants = self.ship(4)
        latest = self.app.get_cargo(tracking_id)
        assert latest.transport_status == "CLAIMED"
        assert cargo_state(latest) == cargo_state(self.replayed(tracking_id, 13))
        late = self.app.get_cargo_at_timestamp(
            tracking_id, instants[-1] + timedelta(days=9)
        )
        assert cargo_state(late) == cargo_state(latest)
