"""A cargo's fields as staff read them, and which of them changed."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase

from cargotime.admin.display import (
    cargo_fields,
    changed_fields,
    describe_activity,
    describe_event,
    describe_itinerary,
    event_name,
)
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location
from tests.helpers import BOOKED_FIELDS

WHEN = datetime(2024, 3, 1, 8, tzinfo=UTC)
DEADLINE = WHEN + timedelta(weeks=3)
ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]


def booked() -> Cargo:
    return Cargo.new_booking(
        Location.HONGKONG, Location.STOCKHOLM, DEADLINE, timestamp=WHEN
    )


class TestCargoFields(SimpleTestCase):
    def test_lists_every_field_in_reading_order(self) -> None:
        cargo = booked()
        cargo.assign_route(ROUTE, timestamp=WHEN)
        fields = cargo_fields(cargo)
        assert [(field.key, field.label) for field in fields] == [
            ("origin", "Origin"),
            ("destination", "Destination"),
            ("arrival_deadline", "Arrival deadline"),
            ("routing_status", "Routing status"),
            ("transport_status", "Transport status"),
            ("is_misdirected", "Misdirected"),
            ("estimated_time_of_arrival", "Estimated time of arrival"),
            ("next_expected_activity", "Next expected activity"),
            ("last_known_location", "Last known location"),
            ("current_voyage_number", "Current voyage"),
            ("itinerary", "Itinerary"),
        ]
        values = {field.key: field.value for field in fields}
        assert values["estimated_time_of_arrival"] == WHEN + timedelta(weeks=1)
        assert values["next_expected_activity"] == "RECEIVE at HONGKONG"
        assert values["itinerary"] == (
            "HONGKONG → NEWYORK on V1, NEWYORK → STOCKHOLM on V2"
        )

    def test_finds_what_an_event_changed(self) -> None:
        cargo = booked()
        cargo.assign_route(ROUTE, timestamp=WHEN)
        cargo.register_handling_event(
            None, Location.HONGKONG, HandlingActivity.RECEIVE, timestamp=WHEN
        )
        before = deepcopy(cargo)
        cargo.register_handling_event(
            "V1", Location.HONGKONG, HandlingActivity.LOAD, timestamp=WHEN
        )
        changes = changed_fields(before, cargo)
        assert [(c.key, c.before, c.after) for c in changes] == [
            ("transport_status", "IN_PORT", "ONBOARD_CARRIER"),
            (
                "next_expected_activity",
                "LOAD at HONGKONG, voyage V1",
                "UNLOAD at NEWYORK, voyage V1",
            ),
            ("current_voyage_number", None, "V1"),
        ]

    def test_nothing_changed_is_an_empty_list(self) -> None:
        cargo = booked()
        assert changed_fields(deepcopy(cargo), cargo) == []

    def test_a_booking_makes_every_field_with_a_value_new(self) -> None:
        changes = changed_fields(None, booked())
        assert [change.key for change in changes] == BOOKED_FIELDS
        assert all(change.before is None for change in changes)

    def test_describes_the_next_expected_activity(self) -> None:
        assert describe_activity(None) is None
        assert (
            describe_activity((HandlingActivity.CLAIM, Location.STOCKHOLM, ""))
            == "CLAIM at STOCKHOLM"
        )
        assert (
            describe_activity((HandlingActivity.LOAD, Location.TOKYO, "V3"))
            == "LOAD at TOKYO, voyage V3"
        )


WHEN = datetime(2024, 3, 1, 8, tzinfo=UTC)
ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]


class TestPhrases(SimpleTestCase):
    def events(self) -> list[object]:
        cargo = Cargo.new_booking(
            Location.HONGKONG, Location.STOCKHOLM, WHEN, timestamp=WHEN
        )
        cargo.change_destination(Location.NEWYORK, timestamp=WHEN)
        cargo.change_destination(Location.STOCKHOLM, timestamp=WHEN)
        cargo.assign_route(ROUTE, timestamp=WHEN)
        for voyage, location, activity in [
            (None, Location.HONGKONG, HandlingActivity.RECEIVE),
            ("V1", Location.HONGKONG, HandlingActivity.LOAD),
            ("V1", Location.NEWYORK, HandlingActivity.UNLOAD),
            (None, Location.NEWYORK, HandlingActivity.UNLOAD),
            (None, Location.STOCKHOLM, HandlingActivity.CLAIM),
        ]:
            cargo.register_handling_event(voyage, location, activity, timestamp=WHEN)
        return list(cargo.collect_events())

    def test_says_what_each_event_did(self) -> None:
        assert [describe_event(event) for event in self.events()] == [
            "Booked from HONGKONG to STOCKHOLM",
            "Destination changed to NEWYORK",
            "Destination changed to STOCKHOLM",
            "Route assigned: HONGKONG → NEWYORK on V1, NEWYORK → STOCKHOLM on V2",
            "Received at HONGKONG",
            "Loaded at HONGKONG onto voyage V1",
            "Unloaded at NEWYORK from voyage V1",
            "Unloaded at NEWYORK",
            "Claimed at STOCKHOLM",
        ]

    def test_names_each_event_by_its_class(self) -> None:
        assert [event_name(event) for event in self.events()][:5] == [
            "BookingStarted",
            "DestinationChanged",
            "DestinationChanged",
            "RouteAssigned",
            "HandlingEventRegistered",
        ]

    def test_an_unknown_event_is_named(self) -> None:
        class Surprise:
            pass

        assert describe_event(Surprise()) == "Surprise"

    def test_an_itinerary_in_a_line(self) -> None:
        assert describe_itinerary(REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0]) == (
            "TOKYO → HAMBURG on V3, HAMBURG → STOCKHOLM on V4"
        )
