"""The cargo domain, through BookingApplication on the library's in-memory store."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.test import SimpleTestCase
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.popo import POPOApplicationRecorder

from cargotime.application import (
    APPLICATION_NAME,
    BookingApplication,
    SearchableTimestampsApplication,
)
from cargotime.domain import (
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    HandlingError,
    Itinerary,
    Leg,
    Location,
    as_next_expected_activity,
)
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

HONGKONG_STOCKHOLM = Itinerary(
    origin="HONGKONG",
    destination="STOCKHOLM",
    legs=(
        Leg(origin="HONGKONG", destination="NEWYORK", voyage_number="V1"),
        Leg(origin="NEWYORK", destination="STOCKHOLM", voyage_number="V2"),
    ),
)
TOKYO_STOCKHOLM = Itinerary(
    origin="TOKYO",
    destination="STOCKHOLM",
    legs=(
        Leg(origin="TOKYO", destination="HAMBURG", voyage_number="V3"),
        Leg(origin="HAMBURG", destination="STOCKHOLM", voyage_number="V4"),
    ),
)


class DomainTestCase(SimpleTestCase):
    """SimpleTestCase: any Django database query here would fail the test."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = BookingApplication(clock=self.clock)
        self.deadline = START + timedelta(weeks=3)

    def book(
        self,
        origin: Location = Location.HONGKONG,
        destination: Location = Location.STOCKHOLM,
    ) -> UUID:
        return self.app.book_new_cargo(origin, destination, self.deadline)

    def routed_cargo(self) -> UUID:
        tracking_id = self.book()
        self.clock.advance()
        self.app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        return tracking_id

    def handle(
        self,
        tracking_id: UUID,
        voyage_number: str | None,
        location: Location,
        activity: HandlingActivity,
    ) -> Cargo:
        self.clock.advance()
        self.app.register_handling_event(tracking_id, voyage_number, location, activity)
        return self.app.get_cargo(tracking_id)


class TestApplicationSetUp(DomainTestCase):
    def test_without_env_uses_in_memory_persistence(self) -> None:
        assert isinstance(self.app.recorder, POPOApplicationRecorder)

    def test_name_is_pinned_and_fits_the_column(self) -> None:
        assert BookingApplication.name == APPLICATION_NAME
        assert SearchableTimestampsApplication.name == APPLICATION_NAME
        assert len(APPLICATION_NAME) <= 32

    def test_default_clock_is_aware_now(self) -> None:
        app = BookingApplication()
        before = datetime_now_with_tzinfo()
        tracking_id = app.book_new_cargo(
            Location.NLRTM, Location.USDAL, before + timedelta(weeks=3)
        )
        after = datetime_now_with_tzinfo()
        created_on = app.get_cargo(tracking_id).created_on
        assert created_on.tzinfo is not None
        assert before <= created_on <= after


class TestBooking(DomainTestCase):
    def test_new_cargo(self) -> None:
        cargo = self.app.get_cargo(self.book())
        assert cargo_state(cargo) == booked_state(self.deadline)

    def test_event_timestamps_come_from_the_clock(self) -> None:
        tracking_id = self.book()
        booked_at = self.clock.now
        changed_at = self.clock.advance(timedelta(minutes=7))
        self.app.change_destination(tracking_id, Location.HAMBURG)
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.created_on == booked_at
        assert cargo.modified_on == changed_at

    def test_change_destination(self) -> None:
        tracking_id = self.book(Location.NLRTM, Location.USDAL)
        self.app.change_destination(tracking_id, Location.AUMEL)
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.destination is Location.AUMEL
        assert cargo.origin is Location.NLRTM
        assert cargo.version == 2

    def test_each_command_triggers_one_event(self) -> None:
        cargo = Cargo.new_booking(Location.HONGKONG, Location.STOCKHOLM, self.deadline)
        cargo.change_destination(Location.NEWYORK)
        cargo.change_destination(Location.STOCKHOLM)
        cargo.assign_route(HONGKONG_STOCKHOLM)
        cargo.register_handling_event(None, Location.HONGKONG, RECEIVE)
        events = cargo.collect_events()
        assert [type(event) for event in events] == [
            Cargo.BookingStarted,
            Cargo.DestinationChanged,
            Cargo.DestinationChanged,
            Cargo.RouteAssigned,
            Cargo.HandlingEventRegistered,
        ]
        assert cargo.version == 5


class TestRouting(DomainTestCase):
    def test_possible_routes(self) -> None:
        routes = self.app.request_possible_routes_for_cargo(self.book())
        assert routes == [HONGKONG_STOCKHOLM]
        assert routes == REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")]

    def test_possible_routes_from_tokyo(self) -> None:
        routes = self.app.request_possible_routes_for_cargo(
            self.book(Location.TOKYO, Location.STOCKHOLM)
        )
        assert routes == [TOKYO_STOCKHOLM]

    def test_no_route_for_unknown_pair(self) -> None:
        tracking_id = self.book(Location.NLRTM, Location.USDAL)
        with self.assertRaisesMessage(
            ValueError, "There is no route from NLRTM to USDAL."
        ):
            self.app.request_possible_routes_for_cargo(tracking_id)

    def test_assign_route(self) -> None:
        tracking_id = self.book()
        routed_at = self.clock.advance(timedelta(hours=5, microseconds=250))
        self.app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.routing_status == "ROUTED"
        assert cargo.transport_status == "NOT_RECEIVED"
        assert cargo.route == HONGKONG_STOCKHOLM
        assert cargo.next_expected_activity == (RECEIVE, Location.HONGKONG, "")
        assert cargo.estimated_time_of_arrival == routed_at + timedelta(weeks=1)
        assert not cargo.is_misdirected

    def test_eta_comes_from_the_route_assigned_event_not_the_replay_clock(
        self,
    ) -> None:
        tracking_id = self.book()
        routed_at = self.clock.advance()
        self.app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        # Replay much later: the estimate must not move with the clock.
        self.clock.advance(timedelta(days=30))
        first = self.app.get_cargo(tracking_id)
        second = self.app.get_cargo(tracking_id)
        assert first.estimated_time_of_arrival == routed_at + timedelta(weeks=1)
        assert first == second


class TestHandling(DomainTestCase):
    def test_receive(self) -> None:
        tracking_id = self.routed_cargo()
        cargo = self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        assert cargo.transport_status == "IN_PORT"
        assert cargo.last_known_location is Location.HONGKONG
        assert cargo.next_expected_activity == (LOAD, Location.HONGKONG, "V1")
        assert cargo.current_voyage_number is None

    def test_load(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        cargo = self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)
        assert cargo.transport_status == "ONBOARD_CARRIER"
        assert cargo.current_voyage_number == "V1"
        assert cargo.last_known_location is Location.HONGKONG
        assert cargo.next_expected_activity == (UNLOAD, Location.NEWYORK, "V1")

    def test_unload_at_an_intermediate_port(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)
        cargo = self.handle(tracking_id, "V1", Location.NEWYORK, UNLOAD)
        assert cargo.transport_status == "IN_PORT"
        assert cargo.current_voyage_number is None
        assert cargo.last_known_location is Location.NEWYORK
        assert cargo.next_expected_activity == (LOAD, Location.NEWYORK, "V2")
        assert not cargo.is_misdirected

    def test_unload_at_destination_expects_a_claim(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)
        self.handle(tracking_id, "V1", Location.NEWYORK, UNLOAD)
        cargo = self.handle(tracking_id, "V2", Location.NEWYORK, LOAD)
        assert cargo.next_expected_activity == (UNLOAD, Location.STOCKHOLM, "V2")
        cargo = self.handle(tracking_id, "V2", Location.STOCKHOLM, UNLOAD)
        assert cargo.transport_status == "IN_PORT"
        assert cargo.last_known_location is Location.STOCKHOLM
        assert cargo.next_expected_activity == (CLAIM, Location.STOCKHOLM, "")
        assert not cargo.is_misdirected

    def test_claim(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)
        self.handle(tracking_id, "V1", Location.NEWYORK, UNLOAD)
        self.handle(tracking_id, "V2", Location.NEWYORK, LOAD)
        self.handle(tracking_id, "V2", Location.STOCKHOLM, UNLOAD)
        cargo = self.handle(tracking_id, None, Location.STOCKHOLM, CLAIM)
        assert cargo.transport_status == "CLAIMED"
        assert cargo.next_expected_activity is None
        assert cargo.last_known_location is Location.STOCKHOLM
        assert cargo.version == 8

    def test_unload_off_the_route_is_a_misdirection(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)
        cargo = self.handle(tracking_id, "V1", Location.TOKYO, UNLOAD)
        assert cargo.is_misdirected
        assert cargo.transport_status == "IN_PORT"
        assert cargo.last_known_location is Location.TOKYO
        assert cargo.current_voyage_number is None
        assert cargo.next_expected_activity is None

    def test_reroute_from_the_last_known_location(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)
        self.handle(tracking_id, "V1", Location.TOKYO, UNLOAD)

        routes = self.app.request_possible_routes_for_cargo(tracking_id)
        assert routes == [TOKYO_STOCKHOLM]
        rerouted_at = self.clock.advance()
        self.app.assign_route(tracking_id, routes[0])
        cargo = self.app.get_cargo(tracking_id)
        assert not cargo.is_misdirected
        assert cargo.route == TOKYO_STOCKHOLM
        assert cargo.next_expected_activity == (LOAD, Location.TOKYO, "V3")
        assert cargo.estimated_time_of_arrival == rerouted_at + timedelta(weeks=1)

        cargo = self.handle(tracking_id, "V3", Location.TOKYO, LOAD)
        assert cargo.next_expected_activity == (UNLOAD, Location.HAMBURG, "V3")
        cargo = self.handle(tracking_id, "V3", Location.HAMBURG, UNLOAD)
        assert cargo.next_expected_activity == (LOAD, Location.HAMBURG, "V4")
        cargo = self.handle(tracking_id, "V4", Location.HAMBURG, LOAD)
        assert cargo.next_expected_activity == (UNLOAD, Location.STOCKHOLM, "V4")
        cargo = self.handle(tracking_id, "V4", Location.STOCKHOLM, UNLOAD)
        assert cargo.next_expected_activity == (CLAIM, Location.STOCKHOLM, "")
        cargo = self.handle(tracking_id, None, Location.STOCKHOLM, CLAIM)
        assert cargo.transport_status == "CLAIMED"
        assert not cargo.is_misdirected

    def test_handling_before_a_route_is_refused(self) -> None:
        tracking_id = self.book()
        for activity in HandlingActivity:
            with self.assertRaisesMessage(HandlingError, "no route yet"):
                self.app.register_handling_event(
                    tracking_id, None, Location.HONGKONG, activity
                )
        assert self.app.get_cargo(tracking_id).version == 1

    def test_load_on_a_voyage_not_in_the_route_is_refused(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        with self.assertRaisesMessage(
            HandlingError, "No leg of the cargo's route leaves HONGKONG on voyage V3."
        ):
            self.app.register_handling_event(tracking_id, "V3", Location.HONGKONG, LOAD)
        # The right voyage from the wrong port is refused too.
        with self.assertRaises(HandlingError):
            self.app.register_handling_event(tracking_id, "V1", Location.TOKYO, LOAD)
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.version == 3
        assert cargo.transport_status == "IN_PORT"

    def test_handling_error_is_a_value_error(self) -> None:
        assert issubclass(HandlingError, ValueError)


class TestTranscoding(DomainTestCase):
    def test_itinerary_round_trip_gives_legs_back_as_a_tuple(self) -> None:
        transcoder = self.app.mapper.transcoder
        decoded = transcoder.decode(transcoder.encode(HONGKONG_STOCKHOLM))
        assert decoded == HONGKONG_STOCKHOLM
        assert isinstance(decoded.legs, tuple)
        assert all(isinstance(leg, Leg) for leg in decoded.legs)

    def test_enums_round_trip(self) -> None:
        transcoder = self.app.mapper.transcoder
        for value in [*Location, *HandlingActivity]:
            assert transcoder.decode(transcoder.encode(value)) is value

    def test_stored_route_comes_back_with_tuple_legs(self) -> None:
        # The in-memory store keeps bytes, so this is a real decode.
        cargo = self.app.get_cargo(self.routed_cargo())
        assert cargo.route == HONGKONG_STOCKHOLM
        assert cargo.route is not None
        assert isinstance(cargo.route.legs, tuple)

    def test_next_expected_activity_from_a_list(self) -> None:
        assert as_next_expected_activity(None) is None
        assert as_next_expected_activity(["LOAD", "TOKYO", "V3"]) == (
            LOAD,
            Location.TOKYO,
            "V3",
        )


class TestSnapshot(DomainTestCase):
    def snapshot_round_trip(self, cargo: Cargo) -> Cargo:
        stored = self.app.mapper.to_stored_event(Cargo.Snapshot.take(cargo))
        snapshot = self.app.mapper.to_domain_event(stored)
        assert isinstance(snapshot, Cargo.Snapshot)
        restored = snapshot.mutate(None)
        assert isinstance(restored, Cargo)
        return restored

    def test_snapshot_restores_next_expected_activity_as_a_tuple(self) -> None:
        tracking_id = self.routed_cargo()
        self.handle(tracking_id, None, Location.HONGKONG, RECEIVE)
        cargo = self.handle(tracking_id, "V1", Location.HONGKONG, LOAD)

        restored = self.snapshot_round_trip(cargo)
        assert restored == cargo
        assert cargo_state(restored) == cargo_state(cargo)
        assert restored.next_expected_activity == (UNLOAD, Location.NEWYORK, "V1")
        assert isinstance(restored.next_expected_activity, tuple)
        assert restored.route is not None
        assert isinstance(restored.route.legs, tuple)

    def test_snapshot_without_next_expected_activity(self) -> None:
        cargo = self.app.get_cargo(self.book())
        restored = self.snapshot_round_trip(cargo)
        assert restored == cargo
        assert restored.next_expected_activity is None

    def test_application_reads_its_snapshot(self) -> None:
        app = BookingApplication(env={"IS_SNAPSHOTTING_ENABLED": "y"}, clock=self.clock)
        tracking_id = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, self.deadline
        )
        app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        app.register_handling_event(tracking_id, None, Location.HONGKONG, RECEIVE)
        from_events = app.get_cargo(tracking_id)
        app.take_snapshot(tracking_id)
        assert app.snapshots is not None
        assert [s.originator_version for s in app.snapshots.get(tracking_id)] == [3]

        from_snapshot = app.get_cargo(tracking_id)
        assert from_snapshot == from_events
        assert from_snapshot.next_expected_activity == (LOAD, Location.HONGKONG, "V1")

        # Handling goes on from the snapshot's state.
        app.register_handling_event(tracking_id, "V1", Location.HONGKONG, LOAD)
        cargo = app.get_cargo(tracking_id)
        assert cargo.next_expected_activity == (UNLOAD, Location.NEWYORK, "V1")
