"""Test helpers: a clock the test moves by hand, a cargo's state as plain data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cargotime.domain import Cargo, HandlingActivity, Location

ROOT = Path(__file__).resolve().parent.parent
# A whole-second start, so that instants with and without microseconds both occur.
START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

RECEIVE = HandlingActivity.RECEIVE
LOAD = HandlingActivity.LOAD
UNLOAD = HandlingActivity.UNLOAD
CLAIM = HandlingActivity.CLAIM

# The keys of the time-travel page's JSON, as DESIGN.md lists them.
JSON_KEYS = {
    "tracking_id",
    "version",
    "origin",
    "destination",
    "arrival_deadline",
    "transport_status",
    "routing_status",
    "is_misdirected",
    "estimated_time_of_arrival",
    "next_expected_activity",
    "last_known_location",
    "current_voyage_number",
    "itinerary",
    "events",
}
# The fields a booking gives a value, in the order a visit lists what changed.
BOOKED_FIELDS = [
    "origin",
    "destination",
    "arrival_deadline",
    "routing_status",
    "transport_status",
    "is_misdirected",
]


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


def booked_state(deadline: datetime) -> dict[str, Any]:
    """Return the cargo_state of a cargo just booked from Hong Kong to Stockholm."""
    return {
        "version": 1,
        "origin": Location.HONGKONG,
        "destination": Location.STOCKHOLM,
        "arrival_deadline": deadline,
        "transport_status": "NOT_RECEIVED",
        "routing_status": "NOT_ROUTED",
        "is_misdirected": False,
        "estimated_time_of_arrival": None,
        "next_expected_activity": None,
        "route": None,
        "last_known_location": None,
        "current_voyage_number": None,
    }


def manage(*args: str, environ: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run manage.py with the project's settings and only *environ*'s DJANGO_ ones."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "project.settings", **environ},
        capture_output=True,
        text=True,
        check=False,
    )
