"""A cargo's fields as staff read them, and which of them changed."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase
from django.utils import translation

from cargotime.admin.display import (
    cargo_fields,
    changed_fields,
    describe_activity,
    describe_event,
    describe_itinerary,
    event_name,
    event_title,
    is_late,
    locations_matching,
    place_name,
    routing_status,
    transport_status,
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
        assert values["origin"] == "Hong Kong (HONGKONG)"
        assert values["routing_status"] == "Routed"
        assert values["transport_status"] == "Not received"
        assert values["next_expected_activity"] == "Receive at Hong Kong (HONGKONG)"
        assert values["itinerary"] == (
            "Hong Kong (HONGKONG) → New York (NEWYORK) on V1, "
            "New York (NEWYORK) → Stockholm (STOCKHOLM) on V2"
        )
        assert [field.alert for field in fields] == [""] * len(fields)

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
            ("transport_status", "In port", "On board carrier"),
            (
                "next_expected_activity",
                "Load at Hong Kong (HONGKONG) onto voyage V1",
                "Unload at New York (NEWYORK) from voyage V1",
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
        assert [
            describe_activity((activity, Location.NLRTM, voyage))
            for activity in HandlingActivity
            for voyage in ("V3", "")
        ] == [
            "Receive at Rotterdam (NLRTM)",
            "Receive at Rotterdam (NLRTM)",
            "Load at Rotterdam (NLRTM) onto voyage V3",
            "Load at Rotterdam (NLRTM)",
            "Unload at Rotterdam (NLRTM) from voyage V3",
            "Unload at Rotterdam (NLRTM)",
            "Claim at Rotterdam (NLRTM)",
            "Claim at Rotterdam (NLRTM)",
        ]


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
            "Booked from Hong Kong (HONGKONG) to Stockholm (STOCKHOLM)",
            "Destination changed to New York (NEWYORK)",
            "Destination changed to Stockholm (STOCKHOLM)",
            "Route assigned: Hong Kong (HONGKONG) → New York (NEWYORK) on V1, "
            "New York (NEWYORK) → Stockholm (STOCKHOLM) on V2",
            "Received at Hong Kong (HONGKONG)",
            "Loaded at Hong Kong (HONGKONG) onto voyage V1",
            "Unloaded at New York (NEWYORK) from voyage V1",
            "Unloaded at New York (NEWYORK)",
            "Claimed at Stockholm (STOCKHOLM)",
        ]

    def test_names_each_event_by_its_class(self) -> None:
        assert [event_name(event) for event in self.events()][:5] == [
            "BookingStarted",
            "DestinationChanged",
            "DestinationChanged",
            "RouteAssigned",
            "HandlingEventRegistered",
        ]

    def test_calls_each_kind_of_event_by_a_word_not_its_class(self) -> None:
        assert [event_title(event) for event in self.events()] == [
            "Booked",
            "Destination changed",
            "Destination changed",
            "Route assigned",
            "Handling: received",
            "Handling: loaded",
            "Handling: unloaded",
            "Handling: unloaded",
            "Handling: claimed",
        ]

    def test_an_unknown_event_is_named(self) -> None:
        class Surprise:
            pass

        assert describe_event(Surprise()) == "Surprise"
        assert event_title(Surprise()) == "Surprise"

    def test_an_itinerary_in_a_line(self) -> None:
        assert describe_itinerary(REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0]) == (
            "Tokyo (TOKYO) → Hamburg (HAMBURG) on V3, "
            "Hamburg (HAMBURG) → Stockholm (STOCKHOLM) on V4"
        )


class TestWords(SimpleTestCase):
    def test_a_place_is_its_name_with_its_code(self) -> None:
        assert [place_name(location) for location in Location] == [
            "Hamburg (HAMBURG)",
            "Hong Kong (HONGKONG)",
            "New York (NEWYORK)",
            "Stockholm (STOCKHOLM)",
            "Tokyo (TOKYO)",
            "Rotterdam (NLRTM)",
            "Dallas (USDAL)",
            "Melbourne (AUMEL)",
        ]
        # Codes from the index and the legs read the same; the unknown as they are.
        assert place_name("NLRTM") == "Rotterdam (NLRTM)"
        assert place_name("ZZZZZ") == "ZZZZZ"
        assert place_name(None) == "—"

    def test_the_english_names_are_the_domains_labels(self) -> None:
        with translation.override("en"):
            for location in Location:
                assert place_name(location) == f"{location.label} ({location.value})"

    def test_every_status_reads_as_words(self) -> None:
        assert [
            transport_status(code)
            for code in ("NOT_RECEIVED", "IN_PORT", "ONBOARD_CARRIER", "CLAIMED")
        ] == ["Not received", "In port", "On board carrier", "Claimed"]
        assert transport_status("UNKNOWN") == "Unknown"
        assert [
            routing_status(code) for code in ("NOT_ROUTED", "ROUTED", "MISROUTED")
        ] == ["Not routed", "Routed", "Misrouted"]
        # A code this version does not know is shown, not lost; none stays none.
        assert transport_status("LOST_AT_SEA") == "LOST_AT_SEA"
        assert routing_status(None) is None

    def test_finds_places_by_name_or_code(self) -> None:
        assert locations_matching("rotterdam") == [Location.NLRTM]
        assert locations_matching("nlrtm") == [Location.NLRTM]
        assert locations_matching("Hong") == [Location.HONGKONG]
        assert locations_matching("hong kong") == [Location.HONGKONG]
        assert locations_matching("NEW YORK") == [Location.NEWYORK]
        assert locations_matching("mel") == [Location.AUMEL]
        assert set(locations_matching("us")) == {Location.USDAL}
        assert locations_matching("  ") == []
        assert locations_matching("zürich") == []

    def test_late_is_an_estimate_past_the_deadline(self) -> None:
        assert is_late(DEADLINE + timedelta(seconds=1), DEADLINE)
        assert not is_late(DEADLINE, DEADLINE)
        assert not is_late(None, DEADLINE)

    def test_misdirected_and_late_fields_carry_an_alert_in_words(self) -> None:
        cargo = Cargo.new_booking(
            Location.HONGKONG, Location.STOCKHOLM, WHEN, timestamp=WHEN
        )
        cargo.assign_route(ROUTE, timestamp=WHEN)
        cargo.register_handling_event(
            None, Location.HONGKONG, HandlingActivity.RECEIVE, timestamp=WHEN
        )
        cargo.register_handling_event(
            "V1", Location.HONGKONG, HandlingActivity.LOAD, timestamp=WHEN
        )
        cargo.register_handling_event(
            "V1", Location.TOKYO, HandlingActivity.UNLOAD, timestamp=WHEN
        )
        alerts = {
            field.key: field.alert for field in cargo_fields(cargo) if field.alert
        }
        assert alerts == {
            "is_misdirected": "unloaded where its route does not go",
            "estimated_time_of_arrival": "late: after the arrival deadline",
        }
