"""The cargos staff can pick from: newest first, searchable, with their routes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import OuterRef, Q, QuerySet, Subquery
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import Cargo, Location
from cargotime.models import EventTimestamp
from cargotime.timeline import database_alias

BOOKED = get_topic(Cargo.BookingStarted)
REDIRECTED = get_topic(Cargo.DestinationChanged)

_TRACKING_ID_PREFIX = re.compile(r"^[0-9a-f-]{1,36}$")


@dataclass(frozen=True)
class CargoRow:
    """A cargo in the list: when it was booked, its route, its number of events."""

    tracking_id: UUID
    booked_at: datetime
    events: int
    origin: str
    destination: str
    booked_destination: str


def find_cargos(
    app: SearchableTimestampsApplication, query: str = ""
) -> QuerySet[EventTimestamp]:
    """Return the cargos' first index rows, newest first, matching *query* if given."""
    rows = EventTimestamp.objects.using(database_alias(app))
    last_version = (
        rows.filter(originator_id=OuterRef("originator_id"))
        .order_by("-originator_version")
        .values("originator_version")[:1]
    )
    bookings = (
        rows.filter(originator_version=1)
        .annotate(events=Subquery(last_version))
        .order_by("-timestamp", "-originator_id")
    )
    query = query.strip().lower()
    if not query:
        return bookings
    matches = Q(pk__in=[])
    if _TRACKING_ID_PREFIX.match(query):
        matches |= Q(originator_id__istartswith=query)
    codes = {location.value for location in Location if query in location.value.lower()}
    if codes:
        routes = _read_routes(app, None)
        matches |= Q(
            originator_id__in=[
                tracking_id
                for tracking_id, (origin, destination, _) in routes.items()
                if origin in codes or destination in codes
            ]
        )
    return bookings.filter(matches)


def describe_cargos(
    app: SearchableTimestampsApplication, bookings: Iterable[EventTimestamp]
) -> list[CargoRow]:
    """Return a list row for each of the cargos' first index rows."""
    bookings = list(bookings)
    routes = _read_routes(app, [row.originator_id for row in bookings])
    described = []
    for row in bookings:
        origin, destination, booked_destination = routes.get(
            row.originator_id, ("?", "?", "?")
        )
        described.append(
            CargoRow(
                tracking_id=row.originator_id,
                booked_at=row.timestamp,
                events=int(getattr(row, "events", 0) or 0),
                origin=origin,
                destination=destination,
                booked_destination=booked_destination,
            )
        )
    return described


def _read_routes(
    app: SearchableTimestampsApplication, tracking_ids: Sequence[UUID] | None
) -> dict[UUID, tuple[str, str, str]]:
    # The route is only in the stored events: the booking and any change of
    # destination. One query, decoded by the application as it would replay them.
    recorder: Any = app.recorder
    records = recorder.model.objects.using(database_alias(app)).filter(
        application_name=recorder.application_name, topic__in=[BOOKED, REDIRECTED]
    )
    if tracking_ids is not None:
        records = records.filter(originator_id__in=tracking_ids)
    routes: dict[UUID, tuple[str, str, str]] = {}
    fields = ("originator_id", "originator_version", "topic", "state")
    for originator_id, version, topic, state in records.order_by(
        "originator_id", "originator_version"
    ).values_list(*fields):
        event = app.mapper.to_domain_event(
            StoredEvent(originator_id, version, topic, bytes(state))
        )
        if isinstance(event, Cargo.BookingStarted):
            booked = event.destination.value
            routes[originator_id] = (event.origin.value, booked, booked)
        elif originator_id in routes and isinstance(event, Cargo.DestinationChanged):
            origin, _, booked = routes[originator_id]
            routes[originator_id] = (origin, event.destination.value, booked)
    return routes
