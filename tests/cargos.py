"""Cargos with known histories, users and row counts, for the database tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from django.contrib.auth.models import Permission, User
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, Cargo, Location
from cargotime.models import EventTimestamp
from tests.helpers import CLAIM, LOAD, RECEIVE, START, UNLOAD, ManualClock

DEADLINE = START + timedelta(weeks=3)
HONGKONG_STOCKHOLM = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
# The handling events of HONGKONG_STOCKHOLM, from receipt to claim.
VOYAGE = [
    (None, Location.HONGKONG, RECEIVE),
    ("V1", Location.HONGKONG, LOAD),
    ("V1", Location.NEWYORK, UNLOAD),
    ("V2", Location.NEWYORK, LOAD),
    ("V2", Location.STOCKHOLM, UNLOAD),
    (None, Location.STOCKHOLM, CLAIM),
]


def ship(
    app: BookingApplication,
    handling_events: int = len(VOYAGE),
    *,
    clock: ManualClock | None = None,
    deadline: datetime = DEADLINE,
) -> UUID:
    """Book and route Hong Kong to Stockholm, then handle its first *handling_events*.

    With a *clock*, each command comes an hour after the one before.
    """
    tracking_id = app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, deadline)
    if clock:
        clock.advance()
    app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
    for voyage, location, activity in VOYAGE[:handling_events]:
        if clock:
            clock.advance()
        app.register_handling_event(tracking_id, voyage, location, activity)
    return tracking_id


def book_voyage(app: SearchableTimestampsApplication, clock: ManualClock) -> UUID:
    """Book Hong Kong to Stockholm and ship it there: 8 events, an hour apart."""
    return ship(app, clock=clock)


def book_long_history(
    app: SearchableTimestampsApplication, clock: ManualClock, events: int
) -> UUID:
    """Book a cargo whose destination then changes until it has *events* events."""
    cargo = Cargo.new_booking(
        Location.TOKYO, Location.STOCKHOLM, DEADLINE, timestamp=clock.now
    )
    places = [Location.HAMBURG, Location.NEWYORK, Location.AUMEL]
    for number in range(events - 1):
        cargo.change_destination(places[number % 3], timestamp=clock.advance())
    app.save(cargo)
    return cargo.id


def stored() -> tuple[int, int, int]:
    """Return how many events, index rows and snapshots the database holds."""
    return (
        StoredEventRecord.objects.count(),
        EventTimestamp.objects.count(),
        SnapshotRecord.objects.count(),
    )


def make_user(name: str, *, staff: bool = True, history: bool = False) -> User:
    """Create a user; *history* grants cargotime.view_cargo_history."""
    user = User.objects.create_user(name, password="secret", is_staff=staff)
    if history:
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="cargotime", codename="view_cargo_history"
            )
        )
    return user
