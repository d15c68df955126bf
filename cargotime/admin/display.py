"""What people read about a cargo: its fields, what changed, and its events in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cargotime.domain import (
    Cargo,
    HandlingActivity,
    Itinerary,
    Location,
    NextExpectedActivity,
)

# Every place's name, for translation: the English ones equal Location.label.
PLACE_NAMES: dict[Location, Promise] = {
    Location.HAMBURG: _("Hamburg"),
    Location.HONGKONG: _("Hong Kong"),
    Location.NEWYORK: _("New York"),
    Location.STOCKHOLM: _("Stockholm"),
    Location.TOKYO: _("Tokyo"),
    Location.NLRTM: _("Rotterdam"),
    Location.USDAL: _("Dallas"),
    Location.AUMEL: _("Melbourne"),
}

TRANSPORT_STATUSES: dict[str, Promise] = {
    "NOT_RECEIVED": _("Not received"),
    "IN_PORT": _("In port"),
    "ONBOARD_CARRIER": _("On board carrier"),
    "CLAIMED": _("Claimed"),
    "UNKNOWN": _("Unknown"),
}

ROUTING_STATUSES: dict[str, Promise] = {
    "NOT_ROUTED": _("Not routed"),
    "ROUTED": _("Routed"),
    "MISROUTED": _("Misrouted"),
}

# What a port did, as an event's name says it: "Handling: loaded".
HANDLED: dict[HandlingActivity, Promise] = {
    HandlingActivity.RECEIVE: _("Handling: received"),
    HandlingActivity.LOAD: _("Handling: loaded"),
    HandlingActivity.UNLOAD: _("Handling: unloaded"),
    HandlingActivity.CLAIM: _("Handling: claimed"),
}

# The events' names, keyed by their class names (the JSON's "type").
EVENT_TYPES: dict[str, Promise] = {
    "BookingStarted": _("Booked"),
    "DestinationChanged": _("Destination changed"),
    "RouteAssigned": _("Route assigned"),
    "HandlingEventRegistered": _("Handling event registered"),
}


def place_name(location: Location | str | None) -> str:
    """Return a place as people read it: "Rotterdam (NLRTM)"; "—" for none."""
    if location is None:
        return "—"
    try:
        member = Location(
            location.value if isinstance(location, Location) else location
        )
    except ValueError:
        # A code this version does not know: show it as it is, rather than fail.
        return str(location)
    return gettext("%(name)s (%(code)s)") % {
        "name": PLACE_NAMES[member],
        "code": member.value,
    }


def locations_matching(text: str) -> list[Location]:
    """Return the places whose code or name (English or translated) holds *text*."""
    needle = text.strip().casefold()
    if not needle:
        return []
    return [
        location
        for location in Location
        if any(
            needle in name.casefold()
            for name in (location.value, location.label, str(PLACE_NAMES[location]))
        )
    ]


def transport_status(code: str | None) -> str | None:
    """Return a transport status in words: "On board carrier"."""
    return _word(TRANSPORT_STATUSES, code)


def routing_status(code: str | None) -> str | None:
    """Return a routing status in words: "Not routed"."""
    return _word(ROUTING_STATUSES, code)


def _word(words: dict[str, Promise], code: str | None) -> str | None:
    if code is None:
        return None
    return str(words[code]) if code in words else code


def event_name(event: Any) -> str:
    """Return the event's class name, such as "HandlingEventRegistered" (for JSON)."""
    return type(event).__name__


def event_title(event: Any) -> str:
    """Return the kind of event in words: "Destination changed", "Handling: loaded"."""
    if isinstance(event, Cargo.HandlingEventRegistered):
        handled = HANDLED.get(event.handling_activity)
        if handled is not None:
            return str(handled)
    name = event_name(event)
    return str(EVENT_TYPES[name]) if name in EVENT_TYPES else name


def describe_event(event: Any) -> str:
    """Return what *event* did: "Unloaded at New York (NEWYORK) from voyage V1"."""
    if isinstance(event, Cargo.BookingStarted):
        return gettext("Booked from %(origin)s to %(destination)s") % {
            "origin": place_name(event.origin),
            "destination": place_name(event.destination),
        }
    if isinstance(event, Cargo.DestinationChanged):
        return gettext("Destination changed to %(destination)s") % {
            "destination": place_name(event.destination)
        }
    if isinstance(event, Cargo.RouteAssigned):
        return gettext("Route assigned: %(route)s") % {
            "route": describe_itinerary(event.route)
        }
    if isinstance(event, Cargo.HandlingEventRegistered):
        return _describe_handling(event)
    return event_name(event)


def describe_itinerary(itinerary: Itinerary) -> str:
    """Return the legs in a line: "Tokyo (TOKYO) → Hamburg (HAMBURG) on V3, …"."""
    return ", ".join(
        gettext("%(origin)s → %(destination)s on %(voyage)s")
        % {
            "origin": place_name(leg.origin),
            "destination": place_name(leg.destination),
            "voyage": leg.voyage_number,
        }
        for leg in itinerary.legs
    )


def _describe_handling(event: Cargo.HandlingEventRegistered) -> str:
    values = {"place": place_name(event.location), "voyage": event.voyage_number}
    activity = event.handling_activity
    if activity is HandlingActivity.RECEIVE:
        return gettext("Received at %(place)s") % values
    if activity is HandlingActivity.LOAD:
        if event.voyage_number:
            return gettext("Loaded at %(place)s onto voyage %(voyage)s") % values
        return gettext("Loaded at %(place)s") % values
    if activity is HandlingActivity.UNLOAD:
        if event.voyage_number:
            return gettext("Unloaded at %(place)s from voyage %(voyage)s") % values
        return gettext("Unloaded at %(place)s") % values
    return gettext("Claimed at %(place)s") % values


def describe_activity(activity: NextExpectedActivity | None) -> str | None:
    """Return the next expected activity: "Load at Hong Kong (HONGKONG) onto V1"."""
    if activity is None:
        return None
    handling, location, voyage_number = activity
    values = {"place": place_name(location), "voyage": voyage_number}
    if handling is HandlingActivity.RECEIVE:
        return gettext("Receive at %(place)s") % values
    if handling is HandlingActivity.LOAD:
        if voyage_number:
            return gettext("Load at %(place)s onto voyage %(voyage)s") % values
        return gettext("Load at %(place)s") % values
    if handling is HandlingActivity.UNLOAD:
        if voyage_number:
            return gettext("Unload at %(place)s from voyage %(voyage)s") % values
        return gettext("Unload at %(place)s") % values
    return gettext("Claim at %(place)s") % values


def is_late(
    estimated_time_of_arrival: datetime | None, arrival_deadline: datetime | None
) -> bool:
    """Return whether the cargo is expected after its arrival deadline."""
    if estimated_time_of_arrival is None or arrival_deadline is None:
        return False
    return estimated_time_of_arrival > arrival_deadline


# A field's value: text, a flag, an instant, or nothing.
Value = str | bool | datetime | None


@dataclass(frozen=True)
class Field:
    """One field of a cargo: its key in the JSON, its label, its value in words.

    *alert* says, in words, why staff should look twice ("" when all is well).
    """

    key: str
    label: str
    value: Value
    alert: str = ""


@dataclass(frozen=True)
class Change:
    """A field whose value differs between two states of a cargo."""

    key: str
    label: str
    before: Value
    after: Value


def cargo_fields(cargo: Cargo) -> list[Field]:
    """Return every field of *cargo*, in the order staff read them."""
    eta = cargo.estimated_time_of_arrival
    return [
        Field("origin", gettext("Origin"), place_name(cargo.origin)),
        Field("destination", gettext("Destination"), place_name(cargo.destination)),
        Field("arrival_deadline", gettext("Arrival deadline"), cargo.arrival_deadline),
        Field(
            "routing_status",
            gettext("Routing status"),
            routing_status(cargo.routing_status),
        ),
        Field(
            "transport_status",
            gettext("Transport status"),
            transport_status(cargo.transport_status),
        ),
        Field(
            "is_misdirected",
            gettext("Misdirected"),
            cargo.is_misdirected,
            gettext("unloaded where its route does not go")
            if cargo.is_misdirected
            else "",
        ),
        Field(
            "estimated_time_of_arrival",
            gettext("Estimated time of arrival"),
            eta,
            gettext("late: after the arrival deadline")
            if is_late(eta, cargo.arrival_deadline)
            else "",
        ),
        Field(
            "next_expected_activity",
            gettext("Next expected activity"),
            describe_activity(cargo.next_expected_activity),
        ),
        Field(
            "last_known_location",
            gettext("Last known location"),
            place_name(cargo.last_known_location)
            if cargo.last_known_location
            else None,
        ),
        Field(
            "current_voyage_number",
            gettext("Current voyage"),
            cargo.current_voyage_number,
        ),
        Field(
            "itinerary",
            gettext("Itinerary"),
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
