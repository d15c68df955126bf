"""Test helpers: a clock the test moves by hand, and a cargo's state as plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cargotime.domain import Cargo

# A whole-second start, so that instants with and without microseconds both occur.
START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


class ManualClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta = timedelta(hours=1)) -> datetime:
        self.now += delta
        return self.now


def cargo_state(cargo: Cargo) -> dict[str, Any]:
    """Return every field of *cargo* that a user can see, with its version."""
    return {
        "version": cargo.version,
        "origin": cargo.origin,
        "destination": cargo.destination,
        "arrival_deadline": cargo.arrival_deadline,
        "transport_status": cargo.transport_status,
        "routing_status": cargo.routing_status,
        "is_misdirected": cargo.is_misdirected,
        "estimated_time_of_arrival": cargo.estimated_time_of_arrival,
        "next_expected_activity": cargo.next_expected_activity,
        "route": cargo.route,
        "last_known_location": cargo.last_known_location,
        "current_voyage_number": cargo.current_voyage_number,
    }
