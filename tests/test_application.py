"""Time travel over cargos stored in the Django database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from time import sleep
from typing import Any
from uuid import UUID, uuid4

from django.test import TestCase
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing_django.models import SnapshotRecord

from cargotime.application import (
    DEFAULT_SNAPSHOT_INTERVAL,
    SearchableTimestampsApplication,
)
from cargotime.apps import get_application
from cargotime.domain import REGISTERED_ROUTES, Cargo, Location
from cargotime.models import EventTimestamp
from cargotime.persistence import SearchableTimestampsRecorder
from tests.helpers import (
    CLAIM,
    LOAD,
    RECEIVE,
    START,
    UNLOAD,
    ManualClock,
    booked_state,
    cargo_state,
)

MICROSECOND = timedelta(microseconds=1)
TOKYO_TIME = timezone(timedelta(hours=9))


class TimeTravelTestCase(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.deadline = START + timedelta(weeks=3)

    def book(self, destination: Location = Location.STOCKHOLM) -> UUID:
        return self.app.book_new_cargo(Location.HONGKONG, destination, self.deadline)

    def at(self, tracking_id: UUID, timestamp: datetime) -> Cargo:
        return self.app.get_cargo_at_timestamp(tracking_id, timestamp)


class TestDefaults(TestCase):
    def test_persists_through_the_searchable_timestamps_recorder(self) -> None:
        app = SearchableTimestampsApplication()
        assert isinstance(app.recorder, SearchableTimestampsRecorder)
        assert app.snapshotting_intervals == {Cargo: DEFAULT_SNAPSHOT_INTERVAL}

    def test_get_application_is_process_wide(self) -> None:
        assert get_application() is get_application()
        assert isinstance(get_application().recorder, SearchableTimestampsRecorder)


class TestSpecScenario(TestCase):
    def test_book_change_destination_and_look_back(self) -> None:
        # The spec's scenario, on the real clock of the process-wide application.
        app = get_application()
        timestamp0 = datetime_now_with_tzinfo()
        sleep(0.001)
        tracking_id = app.book_new_cargo(
            Location.NLRTM, Location.USDAL, timestamp0 + timedelta(weeks=3)
        )
        timestamp1 = datetime_now_with_tzinfo()
        sleep(0.001)
        app.change_destination(tracking_id, Location.AUMEL)
        timestamp2 = datetime_now_with_tzinfo()

        with self.assertRaises(AggregateNotFoundError):
            app.get_cargo_at_timestamp(tracking_id, timestamp0)

        cargo1 = app.get_cargo_at_timestamp(tracking_id, timestamp1)
        assert cargo1.destination is Location.USDAL
        assert cargo1.version == 1

        cargo2 = app.get_cargo_at_timestamp(tracking_id, timestamp2)
        assert cargo2.destination is Location.AUMEL
        assert cargo2.version == 2
        assert cargo2 == app.get_cargo(tracking_id)


class TestHongKongToStockholm(TimeTravelTestCase):
    """The example's voyage, misdirected at Tokyo and rerouted through Hamburg."""

    def test_every_step_now_and_as_of_its_instant(self) -> None:
        app = self.app
        deadline = START + timedelta(weeks=2)
        tracking_id = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, deadline
        )
        booked = booked_state(deadline)
        instants = [self.clock.now]
        expected = [booked]

        def step(
            delta: timedelta, action: Callable[[], None], changes: dict[str, Any]
        ) -> None:
            instant = self.clock.advance(delta)
            action()
            state = {**expected[-1], **changes, "version": len(expected) + 1}
            instants.append(instant)
            expected.append(state)
            # Now, and as of the step's own instant.
            assert cargo_state(app.get_cargo(tracking_id)) == state
            assert cargo_state(self.at(tracking_id, instant)) == state

        assert cargo_state(app.get_cargo(tracking_id)) == booked

        # Routing.
        routes = app.request_possible_routes_for_cargo(tracking_id)
        hongkong_stockholm = routes[0]
        assert [leg.voyage_number for leg in hongkong_stockholm.legs] == ["V1", "V2"]
        routed_at = self.clock.now + timedelta(hours=5)
        step(
            timedelta(hours=5),
            lambda: app.assign_route(tracking_id, hongkong_stockholm),
            {
                "routing_status": "ROUTED",
                "route": hongkong_stockholm,
                "estimated_time_of_arrival": routed_at + timedelta(weeks=1),
                "next_expected_activity": (RECEIVE, Location.HONGKONG, ""),
            },
        )
        # Handling begins: received in Hong Kong, loaded onto V1.
        step(
            timedelta(hours=25),
            lambda: app.register_handling_event(
                tracking_id, None, Location.HONGKONG, RECEIVE
            ),
            {
                "transport_status": "IN_PORT",
                "last_known_location": Location.HONGKONG,
                "next_expected_activity": (LOAD, Location.HONGKONG, "V1"),
            },
        )
        step(
            timedelta(hours=22, microseconds=500),
            lambda: app.register_handling_event(
                tracking_id, "V1", Location.HONGKONG, LOAD
            ),
            {
                "transport_status": "ONBOARD_CARRIER",
                "current_voyage_number": "V1",
                "next_expected_activity": (UNLOAD, Location.NEWYORK, "V1"),
            },
        )
        # Unloaded in Tokyo by mistake: misdirected.
        step(
            timedelta(days=4),
            lambda: app.register_handling_event(
                tracking_id, "V1", Location.TOKYO, UNLOAD
            ),
            {
                "transport_status": "IN_PORT",
                "current_voyage_number": None,
                "last_known_location": Location.TOKYO,
                "is_misdirected": True,
                "next_expected_activity": None,
            },
        )
        # Rerouted from Tokyo.
        routes = app.request_possible_routes_for_cargo(tracking_id)
        tokyo_stockholm = routes[0]
        assert tokyo_stockholm.origin == "TOKYO"
        assert [leg.voyage_number for leg in tokyo_stockholm.legs] == ["V3", "V4"]
        rerouted_at = self.clock.now + timedelta(hours=30, microseconds=7)
        step(
            timedelta(hours=30, microseconds=7),
            lambda: app.assign_route(tracking_id, tokyo_stockholm),
            {
                "route": tokyo_stockholm,
                "is_misdirected": False,
                "estimated_time_of_arrival": rerouted_at + timedelta(weeks=1),
                "next_expected_activity": (LOAD, Location.TOKYO, "V3"),
            },
        )
        step(
            timedelta(hours=20),
            lambda: app.register_handling_event(
                tracking_id, "V3", Location.TOKYO, LOAD
            ),
            {
                "transport_status": "ONBOARD_CARRIER",
                "current_voyage_number": "V3",
                "next_expected_activity": (UNLOAD, Location.HAMBURG, "V3"),
            },
        )
        step(
            timedelta(days=6),
            lambda: app.register_handling_event(
                tracking_id, "V3", Location.HAMBURG, UNLOAD
            ),
            {
                "transport_status": "IN_PORT",
                "current_voyage_number": None,
                "last_known_location": Location.HAMBURG,
                "next_expected_activity": (LOAD, Location.HAMBURG, "V4"),
            },
        )
        step(
            timedelta(hours=20),
            lambda: app.register_handling_event(
                tracking_id, "V4", Location.HAMBURG, LOAD
            ),
            {
                "transport_status": "ONBOARD_CARRIER",
                "current_voyage_number": "V4",
                "next_expected_activity": (UNLOAD, Location.STOCKHOLM, "V4"),
            },
        )
        step(
            timedelta(days=3),
            lambda: app.register_handling_event(
                tracking_id, "V4", Location.STOCKHOLM, UNLOAD
            ),
            {
                "transport_status": "IN_PORT",
                "current_voyage_number": None,
                "last_known_location": Location.STOCKHOLM,
                "next_expected_activity": (CLAIM, Location.STOCKHOLM, ""),
            },
        )
        step(
            timedelta(hours=26),
            lambda: app.register_handling_event(
                tracking_id, None, Location.STOCKHOLM, CLAIM
            ),
            {"transport_status": "CLAIMED", "next_expected_activity": None},
        )
        assert len(expected) == 11

        # Looking back once it is all over: each instant, and just before the next.
        with self.assertRaises(AggregateNotFoundError):
            self.at(tracking_id, instants[0] - MICROSECOND)
        ends = [*instants[1:], instants[-1] + timedelta(days=365)]
        for instant, end, state in zip(instants, ends, expected, strict=True):
            assert cargo_state(self.at(tracking_id, instant)) == state
            assert cargo_state(self.at(tracking_id, instant + (end - instant) / 2)) == (
                state
            )
            assert cargo_state(self.at(tracking_id, end - MICROSECOND)) == state
        # After the last event: the latest state.
        assert self.at(tracking_id, ends[-1]) == app.get_cargo(tracking_id)


class TestInstants(TimeTravelTestCase):
    def test_events_sharing_a_timestamp_resolve_to_the_highest_version(self) -> None:
        # The clock stands still: three commands, one timestamp.
        tracking_id = self.book()
        self.app.change_destination(tracking_id, Location.HAMBURG)
        self.app.change_destination(tracking_id, Location.AUMEL)
        timestamps = EventTimestamp.objects.filter(originator_id=tracking_id)
        assert sorted(timestamps.values_list("originator_version", "timestamp")) == [
            (1, START),
            (2, START),
            (3, START),
        ]
        cargo = self.at(tracking_id, START)
        assert cargo.version == 3
        assert cargo.destination is Location.AUMEL
        with self.assertRaises(AggregateNotFoundError):
            self.at(tracking_id, START - MICROSECOND)

    def test_events_of_one_save_sharing_a_timestamp(self) -> None:
        later = START + timedelta(hours=2, microseconds=30)
        cargo = Cargo.new_booking(
            Location.TOKYO, Location.HAMBURG, self.deadline, timestamp=START
        )
        cargo.change_destination(Location.STOCKHOLM, timestamp=later)
        cargo.assign_route(
            REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0], timestamp=later
        )
        cargo.register_handling_event(None, Location.TOKYO, RECEIVE, timestamp=later)
        self.app.save(cargo)

        assert EventTimestamp.objects.filter(originator_id=cargo.id).count() == 4
        assert self.at(cargo.id, later - MICROSECOND).version == 1
        as_of_later = self.at(cargo.id, later)
        assert as_of_later.version == 4
        assert as_of_later.transport_status == "IN_PORT"
        assert as_of_later.estimated_time_of_arrival == later + timedelta(weeks=1)

    def test_boundary_is_inclusive(self) -> None:
        tracking_id = self.book()
        changed_at = self.clock.advance(timedelta(minutes=90, microseconds=123456))
        self.app.change_destination(tracking_id, Location.NEWYORK)

        assert self.at(tracking_id, START).version == 1
        assert self.at(tracking_id, changed_at - MICROSECOND).version == 1
        assert self.at(tracking_id, changed_at).version == 2
        assert self.at(tracking_id, changed_at).destination is Location.NEWYORK
        with self.assertRaises(AggregateNotFoundError):
            self.at(tracking_id, START - MICROSECOND)

    def test_instant_with_a_plus_nine_hours_offset(self) -> None:
        tracking_id = self.book()  # 08:00 UTC
        self.clock.now = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
        self.app.change_destination(tracking_id, Location.TOKYO)

        noon_utc_in_tokyo = datetime(2024, 3, 1, 21, 0, tzinfo=TOKYO_TIME)
        assert self.at(tracking_id, noon_utc_in_tokyo).destination is Location.TOKYO
        assert self.at(tracking_id, noon_utc_in_tokyo - MICROSECOND).version == 1
        # 21:00 UTC on the same calendar day is well after both events.
        assert (
            self.at(tracking_id, datetime(2024, 3, 1, 21, 0, tzinfo=UTC)).version == 2
        )
        booked_in_tokyo = datetime(2024, 3, 1, 17, 0, tzinfo=TOKYO_TIME)
        assert self.at(tracking_id, booked_in_tokyo).version == 1
        with self.assertRaises(AggregateNotFoundError):
            self.at(tracking_id, booked_in_tokyo - MICROSECOND)

    def test_events_stamped_with_an_offset_are_found_by_their_instant(self) -> None:
        self.clock.now = datetime(2024, 3, 2, 3, 0, tzinfo=TOKYO_TIME)  # 18:00 UTC
        tracking_id = self.book()
        self.clock.advance()
        self.app.change_destination(tracking_id, Location.HAMBURG)

        assert (
            self.at(tracking_id, datetime(2024, 3, 1, 18, 0, tzinfo=UTC)).version == 1
        )
        assert (
            self.at(tracking_id, datetime(2024, 3, 1, 19, 0, tzinfo=UTC)).version == 2
        )
        with self.assertRaises(AggregateNotFoundError):
            self.at(tracking_id, datetime(2024, 3, 1, 17, 59, 59, tzinfo=UTC))

    def test_naive_datetime_is_refused(self) -> None:
        tracking_id = self.book()
        with self.assertRaisesMessage(ValueError, "must be timezone-aware"):
            self.at(tracking_id, datetime(2024, 3, 1, 9, 0))

    def test_unknown_tracking_id(self) -> None:
        self.book()
        with self.assertRaises(AggregateNotFoundError):
            self.at(uuid4(), START + timedelta(days=1))
        with self.assertRaises(AggregateNotFoundError):
            self.app.get_cargo(uuid4())

    def test_before_the_first_event(self) -> None:
        tracking_id = self.book()
        with self.assertRaisesMessage(AggregateNotFoundError, "did not exist at"):
            self.at(tracking_id, START - timedelta(days=1))


class TestDeterministicReplay(TimeTravelTestCase):
    def routed_and_received(self) -> tuple[UUID, list[datetime]]:
        tracking_id = self.book()
        instants = [self.clock.now]
        route = self.app.request_possible_routes_for_cargo(tracking_id)[0]
        instants.append(self.clock.advance(timedelta(hours=3, microseconds=9)))
        self.app.assign_route(tracking_id, route)
        instants.append(self.clock.advance(timedelta(hours=20)))
        self.app.register_handling_event(tracking_id, None, Location.HONGKONG, RECEIVE)
        return tracking_id, instants

    def test_same_instant_twice_gives_equal_cargo(self) -> None:
        tracking_id, instants = self.routed_and_received()
        for instant in instants:
            first = self.at(tracking_id, instant)
            self.clock.advance(timedelta(days=10))
            second = self.at(tracking_id, instant)
            assert first == second
            assert cargo_state(first) == cargo_state(second)

    def test_a_fresh_application_replays_the_same_cargo(self) -> None:
        tracking_id, instants = self.routed_and_received()
        later = ManualClock(START + timedelta(days=400))
        fresh = SearchableTimestampsApplication(clock=later)
        for instant in instants:
            ours = self.at(tracking_id, instant)
            theirs = fresh.get_cargo_at_timestamp(tracking_id, instant)
            assert ours == theirs
        assert fresh.get_cargo(tracking_id).estimated_time_of_arrival == (
            instants[1] + timedelta(weeks=1)
        )


class TestSnapshots(TimeTravelTestCase):
    interval = 4

    def setUp(self) -> None:
        super().setUp()
        self.app = SearchableTimestampsApplication(
            clock=self.clock, snapshot_interval=self.interval
        )
        # Same stored events, never a snapshot: the reference replay.
        self.plain = SearchableTimestampsApplication(
            env={"IS_SNAPSHOTTING_ENABLED": "n"}
        )
        assert self.plain.snapshots is None

    def test_instants_around_snapshot_versions(self) -> None:
        destinations = [Location.HAMBURG, Location.AUMEL, Location.NEWYORK]
        tracking_id = self.book()
        instants = [self.clock.now]
        for i in range(9):
            instants.append(self.clock.advance(timedelta(minutes=45, microseconds=i)))
            self.app.change_destination(tracking_id, destinations[i % 3])

        snapshots = SnapshotRecord.objects.filter(originator_id=tracking_id)
        assert sorted(snapshots.values_list("originator_version", flat=True)) == [4, 8]

        fresh = SearchableTimestampsApplication(snapshot_interval=self.interval)
        for version, instant in enumerate(instants, start=1):
            for at, expected_version in [
                (instant - MICROSECOND, version - 1),
                (instant, version),
                (instant + timedelta(minutes=20), version),
            ]:
                if expected_version == 0:
                    continue
                from_snapshot = self.at(tracking_id, at)
                from_events = self.plain.get_cargo_at_timestamp(tracking_id, at)
                assert from_snapshot.version == expected_version
                assert from_snapshot == from_events
                assert from_snapshot == fresh.get_cargo_at_timestamp(tracking_id, at)
        assert self.at(tracking_id, instants[-1]) == self.app.get_cargo(tracking_id)

    def test_snapshot_keeps_the_route_and_next_activity(self) -> None:
        tracking_id = self.book()
        route = self.app.request_possible_routes_for_cargo(tracking_id)[0]
        self.clock.advance()
        self.app.assign_route(tracking_id, route)
        received_at = self.clock.advance()
        self.app.register_handling_event(tracking_id, None, Location.HONGKONG, RECEIVE)
        loaded_at = self.clock.advance()
        self.app.register_handling_event(tracking_id, "V1", Location.HONGKONG, LOAD)
        assert SnapshotRecord.objects.filter(originator_id=tracking_id).count() == 1

        at_snapshot = self.at(tracking_id, loaded_at)
        assert at_snapshot.version == 4
        assert at_snapshot.next_expected_activity == (UNLOAD, Location.NEWYORK, "V1")
        assert at_snapshot.route == route
        assert at_snapshot == self.plain.get_cargo_at_timestamp(tracking_id, loaded_at)
        assert self.at(tracking_id, received_at).version == 3

        # Handling goes on from a cargo read through the snapshot.
        self.clock.advance()
        self.app.register_handling_event(tracking_id, "V1", Location.NEWYORK, UNLOAD)
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.version == 5
        assert cargo.next_expected_activity == (LOAD, Location.NEWYORK, "V2")
        assert cargo == self.plain.get_cargo(tracking_id)
