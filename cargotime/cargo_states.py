"""A cargo's state after each of its events, as the timestamp index stores it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import CanMutateProtocol

from cargotime.domain import Cargo, Itinerary

# The index columns that hold the state, in the order index_row() gives their values.
STATE_COLUMNS = (
    "origin",
    "destination",
    "arrival_deadline",
    "transport_status",
    "routing_status",
    "is_misdirected",
    "last_known_location",
    "current_voyage_number",
    "estimated_time_of_arrival",
    "route",
)

# (originator_id, originator_version, timestamp, *the values of STATE_COLUMNS)
IndexRow = tuple[Any, ...]


def state_values(cargo: Cargo) -> tuple[Any, ...]:
    """Return the values of STATE_COLUMNS for *cargo*; places as their codes."""
    location = cargo.last_known_location
    return (
        cargo.origin.value,
        cargo.destination.value,
        cargo.arrival_deadline,
        cargo.transport_status,
        cargo.routing_status,
        cargo.is_misdirected,
        location.value if location is not None else None,
        cargo.current_voyage_number,
        cargo.estimated_time_of_arrival,
        route_text(cargo.route),
    )


def route_text(route: Itinerary | None) -> str | None:
    """Return the route's legs as JSON text, [[origin, voyage, destination], …]."""
    # Compact, and equal exactly when the legs are: comparable in SQL.
    if route is None:
        return None
    legs = [[leg.origin, leg.voyage_number, leg.destination] for leg in route.legs]
    return json.dumps(legs, separators=(",", ":"))


def index_row(event: Any, cargo: Cargo) -> IndexRow:
    """Return the index row of *event*, with *cargo* as it was after it."""
    originator_id: UUID = event.originator_id
    timestamp: datetime = event.timestamp
    return (originator_id, event.originator_version, timestamp, *state_values(cargo))


def apply(event: Any, cargo: Cargo | None) -> Cargo:
    """Return *cargo* (None: before its first event) as it is after *event*."""
    mutated = cast(CanMutateProtocol[Cargo], event).mutate(cargo)
    assert mutated is not None
    return mutated


def replay_rows(events: Iterable[Any], cargo: Cargo | None) -> list[IndexRow]:
    """Apply *events* in turn to *cargo* (None: before its first), row by row."""
    rows = []
    for event in events:
        cargo = apply(event, cargo)
        rows.append(index_row(event, cargo))
    return rows
