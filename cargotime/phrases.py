"""Say in a few words what a cargo event did."""

from __future__ import annotations

from typing import Any

from cargotime.domain import Cargo, HandlingActivity, Itinerary, Location


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
