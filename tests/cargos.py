"""Cargos with known histories, for the admin's tests."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib.auth.models import Permission, User

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location
from tests.helpers import START, ManualClock

DEADLINE = START + timedelta(weeks=3)
HONGKONG_STOCKHOLM = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]


def book_voyage(app: SearchableTimestampsApplication, clock: ManualClock) -> UUID:
    """Book Hong Kong to Stockholm and ship it there: 8 events, an hour apart."""
    tracking_id = app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, DEADLINE)
    clock.advance()
    app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
    for voyage, location, activity in [
        (None, Location.HONGKONG, HandlingActivity.RECEIVE),
        ("V1", Location.HONGKONG, HandlingActivity.LOAD),
        ("V1", Location.NEWYORK, HandlingActivity.UNLOAD),
        ("V2", Location.NEWYORK, HandlingActivity.LOAD),
        ("V2", Location.STOCKHOLM, HandlingActivity.UNLOAD),
        (None, Location.STOCKHOLM, HandlingActivity.CLAIM),
    ]:
        clock.advance()
        app.register_handling_event(tracking_id, voyage, location, activity)
    return tracking_id


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
