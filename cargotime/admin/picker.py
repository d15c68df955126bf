"""The cargos staff can pick from: newest first, searchable, with their routes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import OuterRef, Q, QuerySet, Subquery

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import Location
from cargotime.models import EventTimestamp

# Cargos a page of the picker lists.
CARGOS_PER_PAGE = 25

_TRACKING_ID_PREFIX = re.compile(r"^[0-9a-f-]{1,36}$")

# Shown for a row indexed before the index held states, until `rebuild` fills it.
UNKNOWN_PLACE = "?"


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
    # Every value comes from the index: the booking row, and the latest row of the
    # same cargo (one probe of the unique index per listed cargo). Nothing decodes.
    rows = EventTimestamp.objects.of(app)
    latest = rows.filter(originator_id=OuterRef("originator_id")).order_by(
        "-originator_version"
    )
    bookings = (
        rows.filter(originator_version=1)
        .annotate(
            events=Subquery(latest.values("originator_version")[:1]),
            destination_now=Subquery(latest.values("destination")[:1]),
        )
        .order_by("-timestamp", "-originator_id")
    )
    query = query.strip().lower()
    if not query:
        return bookings
    matches = Q(pk__in=[])
    if _TRACKING_ID_PREFIX.match(query):
        matches |= Q(originator_id__istartswith=query)
    codes = [location.value for location in Location if query in location.value.lower()]
    if codes:
        matches |= Q(origin__in=codes) | Q(destination_now__in=codes)
    return bookings.filter(matches)


def describe_cargos(
    app: SearchableTimestampsApplication, bookings: Iterable[EventTimestamp]
) -> list[CargoRow]:
    """Return a list row for each of the cargos' first index rows."""
    return [
        CargoRow(
            tracking_id=row.originator_id,
            booked_at=row.timestamp,
            events=int(getattr(row, "events", 0) or 0),
            origin=row.origin or UNKNOWN_PLACE,
            destination=getattr(row, "destination_now", None) or UNKNOWN_PLACE,
            booked_destination=row.destination or UNKNOWN_PLACE,
        )
        for row in bookings
    ]


@dataclass(frozen=True)
class CargoPage:
    """One page of the cargo list; counting every cargo is left out on purpose."""

    rows: list[EventTimestamp]
    number: int
    has_previous: bool
    has_next: bool


def page_of(
    bookings: QuerySet[EventTimestamp], number: object, per_page: int
) -> CargoPage:
    """Return page *number* (1 when it is no page number) of *bookings*."""
    # Reading one row more than a page tells whether there is a next one: no COUNT,
    # which would read every cargo of the store for each page shown.
    try:
        page = int(str(number))
    except ValueError:
        page = 1
    page = min(max(page, 1), MAX_PAGE)
    start = (page - 1) * per_page
    rows = list(bookings[start : start + per_page + 1])
    return CargoPage(rows[:per_page], page, page > 1, len(rows) > per_page)


# Far past any store's last page: an offset beyond it reads nothing, quickly.
MAX_PAGE = 1_000_000
