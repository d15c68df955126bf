"""The cargo domain, through BookingApplication on the library's in-memory store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.utils import get_topic

from cargotime.application import (
    APPLICATION_NAME,
    BookingApplication,
    SearchableTimestampsApplication,
)
from cargotime.domain import (
    EARLIEST_INSTANT,
    END_OF_INSTANTS,
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    HandlingError,
    Itinerary,
    Leg,
    Location,
    as_next_expected_activity,
    check_instant,
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
MICROSECOND = timedelta(microseconds=1)
HOUR = timedelta(hours=1)
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


EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
END = datetime(9998, 1, 1, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


class TestCheckInstant(SimpleTestCase):
    def test_returns_a_plain_datetime_in_utc(self) -> None:
        summer = datetime(2024, 7, 1, 14, 30, 5, 7, tzinfo=BERLIN)
        checked = check_instant(summer, "timestamp")
        assert checked == summer
        assert checked.tzinfo is UTC
        assert type(checked) is datetime
        assert checked.isoformat() == "2024-07-01T12:30:05.000007+00:00"
        # The second 01:30 of the night the clocks go back, told apart by fold.
        second = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NEW_YORK)
        assert check_instant(second, "timestamp") == datetime(
            2024, 11, 3, 6, 30, tzinfo=UTC
        )
        assert check_instant(END - MICROSECOND, "t") == END - MICROSECOND
        assert check_instant(EARLIEST, "t") == EARLIEST
        assert check_instant(EARLIEST.astimezone(NEW_YORK), "t") == EARLIEST
        assert EARLIEST_INSTANT == EARLIEST
        assert END_OF_INSTANTS == END

    def test_refuses_what_is_no_aware_datetime(self) -> None:
        for value in ["2024-03-01T08:00Z", None, 5, date(2024, 3, 1)]:
            with self.assertRaisesMessage(
                ValueError, "The deadline must be a timezone-aware datetime, not"
            ):
                check_instant(value, "deadline")
        with self.assertRaisesMessage(
            ValueError,
            "The timestamp 2024-03-01T08:00:00 has no UTC offset; add one, such as "
            "+00:00 (it must be timezone-aware).",
        ):
            check_instant(datetime(2024, 3, 1, 8), "timestamp")

    def test_refuses_a_zone_that_gives_no_offset(self) -> None:
        class Broken(tzinfo):
            def utcoffset(self, dt: datetime | None) -> timedelta:
                return timedelta(hours=30)

            def dst(self, dt: datetime | None) -> timedelta:
                return timedelta(0)

            def tzname(self, dt: datetime | None) -> str:
                return "BROKEN"

        with self.assertRaisesMessage(ValueError, "gives no valid UTC offset"):
            check_instant(datetime(2024, 3, 1, tzinfo=Broken()), "timestamp")

    def test_refuses_instants_outside_the_range_and_says_which_it_is(self) -> None:
        plus_one = timezone(timedelta(hours=1))
        minus_14 = timezone(timedelta(hours=-14))
        for value in [
            # No instant in UTC at all: year 0, and year 10000.
            datetime.min.replace(tzinfo=plus_one),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=minus_14),
            # Instants that some zone or page cannot show.
            datetime.min.replace(tzinfo=UTC),
            EARLIEST - MICROSECOND,
            datetime(2, 1, 1, 8, 59, tzinfo=ZoneInfo("Asia/Tokyo")),
            END,
            datetime.max.replace(tzinfo=UTC),
        ]:
            with self.assertRaisesMessage(
                ValueError,
                f"The timestamp {value.isoformat()} is outside the range of dates and "
                "times cargotime accepts: from 0002-01-01T00:00:00+00:00 up to, but "
                "not including, 9998-01-01T00:00:00+00:00 (UTC)",
            ):
                check_instant(value, "timestamp")


class TestEveryDatetimeIsCheckedWhereItEnters(DomainTestCase):
    def test_every_command_checks_its_timestamp_and_nothing_is_stored(self) -> None:
        tracking_id = self.routed_cargo()
        commands: list[Callable[[], object]] = [
            lambda: self.book(),
            lambda: self.app.change_destination(tracking_id, Location.AUMEL),
            lambda: self.app.assign_route(tracking_id, HONGKONG_STOCKHOLM),
            lambda: self.app.register_handling_event(
                tracking_id, None, Location.HONGKONG, RECEIVE
            ),
        ]
        bad_clocks: list[object] = [
            datetime(2024, 3, 1, 8),
            EARLIEST - MICROSECOND,
            END,
            "2024-03-01T08:00Z",
        ]
        for now in bad_clocks:
            self.clock.now = now  # type: ignore[assignment]
            for command in commands:
                with self.subTest(now=now), self.assertRaises(ValueError) as raised:
                    command()
                assert "timestamp" in str(raised.exception)
        assert self.app.recorder.max_notification_id() == 2
        assert self.app.get_cargo(tracking_id).version == 2

    def test_a_cargo_made_directly_checks_its_timestamps_too(self) -> None:
        with self.assertRaisesMessage(ValueError, "has no UTC offset"):
            Cargo.new_booking(
                Location.HONGKONG,
                Location.STOCKHOLM,
                self.deadline,
                timestamp=datetime(2024, 3, 1),
            )
        cargo = Cargo.new_booking(
            Location.HONGKONG,
            Location.STOCKHOLM,
            self.deadline,
            timestamp=datetime(2024, 3, 1, 9, tzinfo=BERLIN),
        )
        assert cargo.created_on.tzinfo is UTC
        commands: list[Callable[[datetime], None]] = [
            lambda at: cargo.change_destination(Location.AUMEL, timestamp=at),
            lambda at: cargo.assign_route(HONGKONG_STOCKHOLM, timestamp=at),
        ]
        for command in commands:
            with self.assertRaisesMessage(ValueError, "outside the range"):
                command(END)
        assert cargo.version == 1

    def test_a_cargo_made_directly_needs_a_uuid_for_its_tracking_id(self) -> None:
        loose: Any = Cargo.new_booking
        for value in [str(uuid4()), 5]:
            with self.assertRaisesMessage(ValueError, "A tracking ID is a UUID, not"):
                loose(
                    Location.HONGKONG,
                    Location.STOCKHOLM,
                    self.deadline,
                    tracking_id=value,
                )

    def test_deadlines_are_checked_and_kept_in_utc(self) -> None:
        for deadline in [
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            END,
            datetime(2030, 1, 1),
        ]:
            with self.assertRaisesMessage(ValueError, "The arrival deadline"):
                self.app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, deadline)
        assert self.app.recorder.max_notification_id() is None
        deadline = datetime(2024, 3, 31, 2, 30, tzinfo=NEW_YORK)
        cargo = self.app.get_cargo(
            self.app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, deadline)
        )
        assert cargo.arrival_deadline == deadline
        assert cargo.arrival_deadline.tzinfo is UTC

    def test_the_clock_in_a_daylight_saving_zone_gives_an_exact_week(self) -> None:
        # Four days before Berlin's clocks go forward: a week is 167 wall-clock hours.
        self.clock.now = datetime(2024, 3, 27, 12, tzinfo=BERLIN)
        tracking_id = self.book()
        self.app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        cargo = self.app.get_cargo(tracking_id)
        eta = cargo.estimated_time_of_arrival
        assert eta is not None
        assert eta.isoformat() == "2024-04-03T11:00:00+00:00"
        assert eta - self.clock.now == timedelta(weeks=1)
        assert cargo.modified_on.tzinfo is UTC


class TestVoyageNumbers(DomainTestCase):
    def test_a_leg_needs_a_voyage_number_that_names_a_voyage(self) -> None:
        tracking_id = self.book()
        for voyage in [None, "", "  ", 5, {"x": [1, 2]}]:
            route = Itinerary(
                "HONGKONG",
                "STOCKHOLM",
                (Leg("HONGKONG", "STOCKHOLM", voyage),),  # type: ignore[arg-type]
            )
            with self.assertRaisesMessage(
                ValueError, f"A leg's voyage number is text, not {voyage!r}."
            ):
                self.app.assign_route(tracking_id, route)
        assert self.app.get_cargo(tracking_id).version == 1

    def test_a_handling_event_has_a_voyage_number_or_none(self) -> None:
        tracking_id = self.routed_cargo()
        for voyage in ["", " ", 0, ["V1"]]:
            with self.assertRaisesMessage(
                ValueError, f"A voyage number is text or None, not {voyage!r}."
            ):
                self.app.register_handling_event(
                    tracking_id,
                    voyage,  # type: ignore[arg-type]
                    Location.HONGKONG,
                    RECEIVE,
                )
        assert self.app.get_cargo(tracking_id).version == 2

    def test_a_snapshot_gives_the_voyage_number_back_as_it_was(self) -> None:
        # str() made a None "None"; JSON gives back what it was given.
        activity: Any = as_next_expected_activity(["LOAD", "TOKYO", None])
        assert activity == (LOAD, Location.TOKYO, None)


class TestLegacyEventsReplay(DomainTestCase):
    """Events stored before the check, with any offset, still replay."""

    def store(self, booked_at: datetime, routed_at: datetime) -> UUID:
        tracking_id = uuid4()
        # Any: the library makes the events dataclasses, which mypy does not see.
        booking: Any = Cargo.BookingStarted
        routing: Any = Cargo.RouteAssigned
        events = [
            booking(
                originator_id=tracking_id,
                originator_version=1,
                timestamp=booked_at,
                originator_topic=get_topic(Cargo),
                origin=Location.HONGKONG,
                destination=Location.STOCKHOLM,
                arrival_deadline=booked_at,
            ),
            routing(
                originator_id=tracking_id,
                originator_version=2,
                timestamp=routed_at,
                route=HONGKONG_STOCKHOLM,
            ),
        ]
        self.app.recorder.insert_events(
            [self.app.mapper.to_stored_event(event) for event in events]
        )
        return tracking_id

    def test_offsets_other_than_utc_replay_to_the_same_instants(self) -> None:
        plus_two = timezone(timedelta(hours=2))
        routed_at = datetime(2024, 3, 28, 12, tzinfo=plus_two)
        cargo = self.app.get_cargo(self.store(routed_at - HOUR, routed_at))
        assert cargo.modified_on == routed_at
        eta = cargo.estimated_time_of_arrival
        assert eta is not None
        assert eta.isoformat() == "2024-04-04T10:00:00+00:00"

    def test_instants_at_the_ends_of_the_datetime_range_still_replay(self) -> None:
        # Year 0 in UTC: the week is added at the stored offset instead.
        year_one = datetime.min.replace(tzinfo=timezone(timedelta(hours=1)))
        cargo = self.app.get_cargo(self.store(year_one, year_one))
        assert cargo.estimated_time_of_arrival == year_one + timedelta(weeks=1)
        # A week after it there is no datetime at all: no estimate.
        last = datetime.max.replace(tzinfo=UTC)
        cargo = self.app.get_cargo(self.store(last, last))
        assert cargo.routing_status == "ROUTED"
        assert cargo.estimated_time_of_arrival is None


class TestLocationLabels(SimpleTestCase):
    def test_every_place_has_a_name_for_people_and_keeps_its_code(self) -> None:
        assert {location.value: location.label for location in Location} == {
            "HAMBURG": "Hamburg",
            "HONGKONG": "Hong Kong",
            "NEWYORK": "New York",
            "STOCKHOLM": "Stockholm",
            "TOKYO": "Tokyo",
            "NLRTM": "Rotterdam",
            "USDAL": "Dallas",
            "AUMEL": "Melbourne",
        }
        # Stored events hold the codes: a name must never become a value.
        assert Location("NLRTM") is Location.NLRTM


class TestEventsComeInOrder(DomainTestCase):
    def test_no_event_goes_back_before_the_cargos_last(self) -> None:
        tracking_id = self.routed_cargo()
        routed_at = self.clock.now
        self.clock.now = routed_at - timedelta(microseconds=1)
        commands: list[Callable[[], None]] = [
            lambda: self.app.change_destination(tracking_id, Location.HAMBURG),
            lambda: self.app.assign_route(tracking_id, HONGKONG_STOCKHOLM),
            lambda: self.app.register_handling_event(
                tracking_id, None, Location.HONGKONG, HandlingActivity.RECEIVE
            ),
        ]
        for command in commands:
            with self.assertRaisesMessage(ValueError, "goes back before"):
                command()
        assert self.app.get_cargo(tracking_id).version == 2
        # The same instant is no step back: events of one cargo may tie.
        self.clock.now = routed_at
        self.app.change_destination(tracking_id, Location.HAMBURG)
        assert self.app.get_cargo(tracking_id).version == 3
