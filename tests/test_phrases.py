"""Cargo events in a few words."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import SimpleTestCase

from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location
from cargotime.phrases import describe_event, describe_itinerary, event_name

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
