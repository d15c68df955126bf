"""Hostile input: the API raises only its documented errors, and every cargo replays.

Property-based (hypothesis), with a fixed seed and no example database, so that CI sees
the same examples every run. Each failure hypothesis found has a plain example test
under "Regressions".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from django.test import TestCase
from eventsourcing.application import AggregateNotFoundError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from cargotime.application import (
    CargoNotFoundAtTimestamp,
    SearchableTimestampsApplication,
)
from cargotime.domain import (
    REGISTERED_ROUTES,
    HandlingActivity,
    HandlingError,
    Itinerary,
    Leg,
    Location,
)
from tests.helpers import START, ManualClock, cargo_state

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DOCUMENTED = (ValueError, AggregateNotFoundError)  # HandlingError is a ValueError.
ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
DEADLINE = START + timedelta(weeks=3)

# Offsets up to a microsecond short of a day either way, the most timezone() takes.
offsets = st.timedeltas(
    min_value=-timedelta(hours=24) + timedelta(microseconds=1),
    max_value=timedelta(hours=24) - timedelta(microseconds=1),
).map(timezone)
zones = st.one_of(st.just(UTC), offsets, st.timezones())
aware_datetimes = st.datetimes(timezones=zones)
naive_datetimes = st.datetimes()
hostile_text = st.text(
    alphabet=st.characters(codec="utf-8"), max_size=40
) | st.sampled_from(["", "\x00", "' OR 1=1 --", "%s", "🚢", "a" * 300])
anything = st.one_of(
    st.none(), st.integers(), st.floats(), hostile_text, st.binary(max_size=20)
)
tracking_ids = st.one_of(
    st.uuids(),
    st.uuids().map(str),
    st.uuids().map(lambda value: value.hex.upper()),
    st.uuids().map(lambda value: f"{{{value}}}"),
    anything,
)
locations = st.one_of(
    st.sampled_from(Location),
    st.sampled_from([location.value for location in Location]),
    anything,
)
activities = st.one_of(
    st.sampled_from(HandlingActivity),
    st.sampled_from([activity.value for activity in HandlingActivity]),
    anything,
)
voyage_numbers = st.one_of(st.sampled_from([None, "V1", "V2", "V3", "V4"]), anything)
location_codes = st.one_of(
    st.sampled_from([location.value for location in Location]), hostile_text
)
legs = st.builds(
    Leg, origin=location_codes, destination=location_codes, voyage_number=voyage_numbers
)
itineraries = st.one_of(
    st.sampled_from(
        [route for routes in REGISTERED_ROUTES.values() for route in routes]
    ),
    st.builds(
        Itinerary,
        origin=location_codes,
        destination=location_codes,
        legs=st.lists(legs, max_size=4).map(tuple),
    ),
    anything,
)
pauses = st.sampled_from([timedelta(0), timedelta(microseconds=1), timedelta(hours=1)])
commands = st.one_of(
    st.tuples(st.just("change_destination"), locations),
    st.tuples(st.just("assign_route"), itineraries),
    st.tuples(
        st.just("register_handling_event"), voyage_numbers, locations, activities
    ),
)


def book(app: SearchableTimestampsApplication) -> UUID:
    return app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, DEADLINE)


def event_moments(app: SearchableTimestampsApplication, tracking_id: UUID) -> list[Any]:
    """Return (version, timestamp) of each stored event of the cargo."""
    events: list[Any] = [
        app.mapper.to_domain_event(stored)
        for stored in app.recorder.select_events(tracking_id)
    ]
    return [(event.originator_version, event.timestamp) for event in events]


def version_at(moments: list[Any], instant: datetime) -> int | None:
    """Return the version the rule gives at *instant*: highest (timestamp, version)."""
    before = [(at, version) for version, at in moments if at <= instant]
    return max(before)[1] if before else None


class ApplicationPropertyTests(HypothesisTestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        # A snapshot every three events, so that replay starts from snapshots too.
        self.app = SearchableTimestampsApplication(
            clock=self.clock, snapshot_interval=3
        )

    def tearDown(self) -> None:
        self.app.close()

    @EXAMPLES
    @given(st.lists(st.tuples(commands, pauses), max_size=12))
    def test_commands_in_any_order_store_whole_events_or_none(
        self, steps: list[tuple[tuple[Any, ...], timedelta]]
    ) -> None:
        tracking_id = book(self.app)
        saved = 1
        for (name, *arguments), pause in steps:
            self.clock.advance(pause)
            command: Any = getattr(self.app, name)
            try:
                command(tracking_id, *arguments)
            except DOCUMENTED:
                pass
            else:
                saved += 1
            cargo = self.app.get_cargo(tracking_id)
            assert cargo.version == saved
        self.assert_replays(tracking_id)

    def assert_replays(self, tracking_id: UUID) -> None:
        now = cargo_state(self.app.get_cargo(tracking_id))
        # A second application reads only what is stored: the same cargo comes back.
        other = SearchableTimestampsApplication(snapshot_interval=None)
        try:
            self.assert_same_in(other, tracking_id, now)
        finally:
            other.close()

    def assert_same_in(
        self,
        other: SearchableTimestampsApplication,
        tracking_id: UUID,
        now: dict[str, Any],
    ) -> None:
        assert cargo_state(other.get_cargo(tracking_id)) == now
        assert isinstance(now["origin"], Location)
        assert isinstance(now["destination"], Location)
        assert now["last_known_location"] is None or isinstance(
            now["last_known_location"], Location
        )
        moments = event_moments(self.app, tracking_id)
        assert [version for version, _ in moments] == list(range(1, now["version"] + 1))
        for _, at in moments:
            cargo = self.app.get_cargo_at_timestamp(tracking_id, at)
            assert cargo.version == version_at(moments, at)
            assert cargo_state(cargo) == cargo_state(
                other.get_cargo_at_timestamp(tracking_id, at)
            )

    @EXAMPLES
    @given(tracking_id=tracking_ids, command=commands)
    def test_any_tracking_id_is_a_cargo_or_a_documented_error(
        self, tracking_id: Any, command: tuple[Any, ...]
    ) -> None:
        name, *arguments = command
        calls: list[Callable[[], object]] = [
            lambda: self.app.get_cargo(tracking_id),
            lambda: self.app.get_cargo_at_timestamp(tracking_id, START),
            lambda: self.app.request_possible_routes_for_cargo(tracking_id),
            lambda: getattr(self.app, name)(tracking_id, *arguments),
        ]
        for call in calls:
            with self.assertRaises(DOCUMENTED):
                call()
        assert self.app.recorder.max_notification_id() is None

    @EXAMPLES
    @given(instant=aware_datetimes | naive_datetimes)
    def test_time_travel_to_any_instant_follows_the_rule(
        self, instant: datetime
    ) -> None:
        tracking_id = book(self.app)
        self.clock.advance(timedelta(days=400))
        self.app.assign_route(tracking_id, ROUTE)
        self.app.change_destination(tracking_id, Location.AUMEL)
        moments = event_moments(self.app, tracking_id)
        if instant.utcoffset() is None:
            with self.assertRaises(ValueError):
                self.app.get_cargo_at_timestamp(tracking_id, instant)
            return
        try:
            in_utc = instant.astimezone(UTC)
        except OverflowError:
            # Past either end of the range once in UTC: before or after everything.
            in_utc = datetime.min if instant.year == 1 else datetime.max
            in_utc = in_utc.replace(tzinfo=UTC)
        expected = version_at(moments, in_utc)
        if expected is None:
            with self.assertRaises(CargoNotFoundAtTimestamp):
                self.app.get_cargo_at_timestamp(tracking_id, instant)
        else:
            cargo = self.app.get_cargo_at_timestamp(tracking_id, instant)
            assert cargo.version == expected

    @EXAMPLES
    @given(
        origin=locations,
        destination=locations,
        deadline=aware_datetimes | naive_datetimes | anything,
    )
    def test_any_booking_is_stored_whole_or_refused(
        self, origin: Any, destination: Any, deadline: Any
    ) -> None:
        try:
            tracking_id = self.app.book_new_cargo(origin, destination, deadline)
        except ValueError:
            assert self.app.recorder.max_notification_id() is None
            return
        cargo = self.app.get_cargo(tracking_id)
        assert cargo.origin is Location(getattr(origin, "value", origin))
        assert cargo.destination is Location(getattr(destination, "value", destination))
        assert cargo.arrival_deadline == deadline
        self.assert_replays(tracking_id)


class ApplicationRegressionTests(TestCase):
    """One example for each failure the properties found, with what it was."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)
        # The same application, typed loosely: these tests pass what the types forbid.
        self.loose: Any = self.app
        self.tracking_id = book(self.app)

    def test_text_that_is_no_uuid_is_a_value_error(self) -> None:
        # Was django.core.exceptions.ValidationError from the recorder's query.
        for text in ["garbage", "\x00", ""]:
            with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
                self.loose.get_cargo(text)
            with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
                self.loose.get_cargo_at_timestamp(text, START)

    def test_values_that_are_no_uuid_are_a_value_error(self) -> None:
        # Were AggregateNotFoundError for None and 5: not a cargo, but no ID either.
        for value in [None, 5, b"\x00"]:
            with self.assertRaisesMessage(ValueError, "is not a tracking ID"):
                self.loose.get_cargo(value)

    def test_the_text_of_a_uuid_names_the_cargo(self) -> None:
        for text in [str(self.tracking_id), self.tracking_id.hex.upper()]:
            assert self.loose.get_cargo(text).id == self.tracking_id

    def test_an_instant_past_the_last_datetime_in_utc_is_after_every_event(
        self,
    ) -> None:
        # Was OverflowError, converting 9999-12-31T23:59:59.999999-01:00 to UTC.
        instant = datetime.max.replace(tzinfo=timezone(timedelta(hours=-1)))
        assert self.loose.get_cargo_at_timestamp(self.tracking_id, instant).version == 1

    def test_an_instant_before_the_first_datetime_in_utc_is_before_every_event(
        self,
    ) -> None:
        # Was OverflowError, converting 0001-01-01T00:00:00+01:00 to UTC.
        instant = datetime.min.replace(tzinfo=timezone(timedelta(hours=1)))
        with self.assertRaises(CargoNotFoundAtTimestamp):
            self.loose.get_cargo_at_timestamp(self.tracking_id, instant)

    def test_a_timestamp_that_is_no_datetime_is_a_value_error(self) -> None:
        # Was AttributeError: 'str' object has no attribute 'tzinfo'.
        with self.assertRaisesMessage(ValueError, "timezone-aware"):
            self.loose.get_cargo_at_timestamp(self.tracking_id, "2024-01-01")

    def test_a_location_is_a_location_or_its_code(self) -> None:
        # Were stored as they came: "XX" as an origin, "AUMEL" as a str destination,
        # which later broke request_possible_routes_for_cargo with AttributeError.
        with self.assertRaisesMessage(ValueError, "'XX' is not a location"):
            self.loose.book_new_cargo("XX", Location.STOCKHOLM, DEADLINE)
        with self.assertRaisesMessage(ValueError, "None is not a location"):
            self.loose.change_destination(self.tracking_id, None)
        self.loose.change_destination(self.tracking_id, "AUMEL")
        assert self.loose.get_cargo(self.tracking_id).destination is Location.AUMEL
        assert self.loose.get_cargo(self.tracking_id).version == 2

    def test_a_deadline_is_an_aware_datetime_in_range(self) -> None:
        # Were stored: a naive deadline, and one that has no instant in UTC.
        for deadline in [
            datetime(2030, 1, 1),
            datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
            "2030-01-01",
        ]:
            with self.assertRaises(ValueError):
                self.loose.book_new_cargo(
                    Location.HONGKONG,
                    Location.STOCKHOLM,
                    deadline,
                )

    def test_a_route_without_legs_is_refused(self) -> None:
        # Was stored; receiving the cargo then raised IndexError.
        with self.assertRaisesMessage(ValueError, "at least one leg"):
            self.loose.assign_route(
                self.tracking_id, Itinerary("HONGKONG", "STOCKHOLM", ())
            )
        with self.assertRaisesMessage(HandlingError, "no route yet"):
            self.loose.register_handling_event(
                self.tracking_id, None, Location.HONGKONG, HandlingActivity.RECEIVE
            )

    def test_a_route_through_unknown_places_is_refused(self) -> None:
        # Was stored; loading the cargo on its leg then raised ValueError in replay's
        # code, and the cargo could never be loaded.
        route = Itinerary("HONGKONG", "XX", (Leg("HONGKONG", "\x00", "V1"),))
        with self.assertRaisesMessage(ValueError, "'\\x00' is not a location"):
            self.loose.assign_route(self.tracking_id, route)
        assert self.loose.get_cargo(self.tracking_id).version == 1

    def test_a_route_that_is_no_itinerary_is_a_value_error(self) -> None:
        # Was AttributeError: 'dict' object has no attribute 'legs'.
        for route in [{"origin": "HONGKONG"}, None, (ROUTE.legs[0],)]:
            with self.assertRaisesMessage(ValueError, "is an Itinerary"):
                self.loose.assign_route(self.tracking_id, route)

    def test_a_voyage_number_is_text_or_none(self) -> None:
        # Was stored as an int, shown later as if it were a voyage.
        self.loose.assign_route(self.tracking_id, ROUTE)
        with self.assertRaisesMessage(ValueError, "voyage number is text or None"):
            self.loose.register_handling_event(
                self.tracking_id,
                5,
                Location.HONGKONG,
                HandlingActivity.RECEIVE,
            )
        self.loose.register_handling_event(
            self.tracking_id,
            "\x00 🚢",
            Location.HONGKONG,
            "RECEIVE",
        )
        cargo = self.loose.get_cargo(self.tracking_id)
        assert cargo.transport_status == "IN_PORT"
        assert cargo.version == 3

    def test_an_unknown_handling_activity_is_refused(self) -> None:
        # Was stored as text, and replay then treated it as a claim.
        self.loose.assign_route(self.tracking_id, ROUTE)
        with self.assertRaisesMessage(ValueError, "is not a handling activity"):
            self.loose.register_handling_event(
                self.tracking_id,
                None,
                Location.HONGKONG,
                "STEAL",
            )
        assert self.loose.get_cargo(self.tracking_id).version == 2
