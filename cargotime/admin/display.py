"""What people read about a cargo: its fields, what changed, and its events in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cargotime.domain import (
    Cargo,
    HandlingActivity,
    Itinerary,
    Location,
    NextExpectedActivity,
)


def event_name(event: Any) -> str:
    """Return the event's name, such as "HandlingEventRegistered"."""
    return type(event).__name__


def describe_event(event: Any) -> str:
    """Return what *event* did, such as "Unloaded at NEWYORK from voyage V1"."""
    if isinstance(event, Cargo.BookingStarted):
        return f"Booked from {_code(event.origin)} to {_code(event.destination)}"
    if isinstance(event, Cargo.DestinationChanged):
        return f"Destination changed to {_code(event.destination)}"
    if isinstance(event, Cargo.RouteAssigned):
        return f"Route assigned: {describe_itinerary(event.route)}"
    if isinstance(event, Cargo.HandlingEventRegistered):
        return _describe_handling(event)
    return event_name(event)


def describe_itinerary(itinerary: Itinerary) -> str:
    """Return the legs in a line: "HONGKONG → NEWYORK on V1, NEWYORK → …"."""
    return ", ".join(
        f"{leg.origin} → {leg.destination} on {leg.voyage_number}"
        for leg in itinerary.legs
    )


def _describe_handling(event: Cargo.HandlingEventRegistered) -> str:
    where = _code(event.location)
    voyage = event.voyage_number
    activity = event.handling_activity
    if activity is HandlingActivity.RECEIVE:
        return f"Received at {where}"
    if activity is HandlingActivity.LOAD:
        return f"Loaded at {where}" + (f" onto voyage {voyage}" if voyage else "")
    if activity is HandlingActivity.UNLOAD:
        return f"Unloaded at {where}" + (f" from voyage {voyage}" if voyage else "")
    return f"Claimed at {where}"


def _code(location: Location | str) -> str:
    return location.value if isinstance(location, Location) else str(location)


def _optional_code(location: Location | None) -> str | None:
    return _code(location) if location is not None else None


# A field's value: text, a flag, an instant, or nothing.
Value = str | bool | datetime | None


@dataclass(frozen=True)
class Field:
    """One field of a cargo: its key in the JSON, its label and its value."""

    key: str
    label: str
    value: Value


@dataclass(frozen=True)
class Change:
    """A field whose value differs between two states of a cargo."""

    key: str
    label: str
    before: Value
    after: Value


def cargo_fields(cargo: Cargo) -> list[Field]:
    """Return every field of *cargo*, in the order staff read them."""
    return [
        Field("origin", "Origin", cargo.origin.value),
        Field("destination", "Destination", cargo.destination.value),
        Field("arrival_deadline", "Arrival deadline", cargo.arrival_deadline),
        Field("routing_status", "Routing status", cargo.routing_status),
        Field("transport_status", "Transport status", cargo.transport_status),
        Field("is_misdirected", "Misdirected", cargo.is_misdirected),
        Field(
            "estimated_time_of_arrival",
            "Estimated time of arrival",
            cargo.estimated_time_of_arrival,
        ),
        Field(
            "next_expected_activity",
            "Next expected activity",
            describe_activity(cargo.next_expected_activity),
        ),
        Field(
            "last_known_location",
            "Last known location",
            _optional_code(cargo.last_known_location),
        ),
        Field("current_voyage_number", "Current voyage", cargo.current_voyage_number),
        Field(
            "itinerary",
            "Itinerary",
            describe_itinerary(cargo.route) if cargo.route else None,
        ),
    ]


def changed_fields(before: Cargo | None, after: Cargo) -> list[Change]:
    """Return the fields that differ from *before* (None: not booked yet) to *after*."""
    old = {field.key: field.value for field in cargo_fields(before)} if before else {}
    return [
        Change(field.key, field.label, old.get(field.key), field.value)
        for field in cargo_fields(after)
        if (
            field.value is not None if before is None else old[field.key] != field.value
        )
    ]


def describe_activity(activity: NextExpectedActivity | None) -> str | None:
    """Return the next expected activity as a phrase: "LOAD at HONGKONG, voyage V1"."""
    if activity is None:
        return None
    handling, location, voyage_number = activity
    text = f"{handling.value} at {location.value}"
    return f"{text}, voyage {voyage_number}" if voyage_number else text
