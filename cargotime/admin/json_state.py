"""The cargo as the time-travel page's JSON: the keys DESIGN.md promises."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cargotime.admin.timeline import Entry
from cargotime.domain import Cargo, Itinerary, Location


def cargo_as_json(
    tracking_id: UUID, cargo: Cargo, events: Iterable[Entry]
) -> dict[str, Any]:
    """Return *cargo* and its timeline *events* as JSON-ready data."""
    activity = cargo.next_expected_activity
    return {
        "tracking_id": str(tracking_id),
        "version": cargo.version,
        "origin": cargo.origin.value,
        "destination": cargo.destination.value,
        "arrival_deadline": instant_as_json(cargo.arrival_deadline),
        "transport_status": cargo.transport_status,
        "routing_status": cargo.routing_status,
        "is_misdirected": cargo.is_misdirected,
        "estimated_time_of_arrival": instant_as_json(cargo.estimated_time_of_arrival),
        "next_expected_activity": (
            None
            if activity is None
            else [activity[0].value, activity[1].value, activity[2]]
        ),
        "last_known_location": _code(cargo.last_known_location),
        "current_voyage_number": cargo.current_voyage_number,
        "itinerary": itinerary_as_json(cargo.route),
        "events": [
            {
                "version": entry.version,
                "timestamp": instant_as_json(entry.timestamp),
                "type": entry.name,
            }
            for entry in events
        ],
    }


def itinerary_as_json(itinerary: Itinerary | None) -> dict[str, Any] | None:
    """Return *itinerary* with its legs, or None."""
    if itinerary is None:
        return None
    return {
        "origin": itinerary.origin,
        "destination": itinerary.destination,
        "legs": [
            {
                "origin": leg.origin,
                "destination": leg.destination,
                "voyage_number": leg.voyage_number,
            }
            for leg in itinerary.legs
        ],
    }


def instant_as_json(value: datetime | None) -> str | None:
    """Return *value* as ISO 8601 in UTC with its offset; naive values are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _code(location: Location | None) -> str | None:
    return location.value if location else None
