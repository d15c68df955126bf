"""A cargo's fields as staff read them, and which of them changed."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase

from cargotime.cargo_fields import cargo_fields, changed_fields, describe_activity
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
