"""The cargos staff can pick from: newest first, searchable, with their routes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import OuterRef, Q, QuerySet, Subquery

from cargotime.admin.display import (
    is_late,
    locations_matching,
    place_name,
    transport_status,
)
from cargotime.application import SearchableTimestampsApplication, tracking_id_prefix
from cargotime.models import EventTimestamp

# Cargos a page of the picker lists.
CARGOS_PER_PAGE = 25


# Shown for a row indexed before the index held states, until `rebuild` fills it.
UNKNOWN_PLACE = "?"

# What the list shows of each cargo as it is now, from its latest index row.
LATEST_COLUMNS = (
    "destination",
    "transport_status",
    "is_misdirected",
    "estimated_time_of_arrival",
)


@dataclass(frozen=True)
class CargoRow:
    """A cargo in the list: when it was booked, its route, events and status now."""

    tracking_id: UUID
    booked_at: datetime
    events: int
    # Places as people read them: "Rotterdam (NLRTM)".
    origin: str
    destination: str
    booked_destination: str
    # In words; None for a row indexed before the index held states.
    transport_status: str | None = None
    is_misdirected: bool = False
    is_late: bool = False


def find_cargos(
    app: SearchableTimestampsApplication, query: str = ""
) -> QuerySet[EventTimestamp]:
    """Return the cargos' first index rows, newest first, matching *query* if given."""
    # Every value comes from the index: the booking row, and the latest row of the
    # same cargo (probes of the unique index per listed cargo). Nothing decodes.
    rows = EventTimestamp.objects.of(app)
    latest = rows.filter(originator_id=OuterRef("originator_id")).order_by(
        "-originator_version"
    )
    bookings = (
        rows.filter(originator_version=1)
        .annotate(
            events=Subquery(latest.values("originator_version")[:1]),
            **{
                f"{column}_now": Subquery(latest.values(column)[:1])
                for column in LATEST_COLUMNS
            },
        )
        .order_by("-timestamp", "-originator_id")
    )
    query = query.strip().lower()
    if not query:
        return bookings
    matches = Q(pk__in=[])
    prefix = tracking_id_prefix(query)
    if prefix:
        matches |= Q(originator_id__istartswith=prefix)
    # Names are matched here, from the short table of places, and the index is
    # searched for their codes: "rotterdam", "Hong" and "nlrtm" all find codes.
    codes = [location.value for location in locations_matching(query)]
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
            origin=_place(row.origin),
            destination=_place(getattr(row, "destination_now", None)),
            booked_destination=_place(row.destination),
            transport_status=transport_status(
                getattr(row, "transport_status_now", None)
            ),
            is_misdirected=bool(getattr(row, "is_misdirected_now", False)),
            # The deadline is the booking's: no event changes it.
            is_late=is_late(
                getattr(row, "estimated_time_of_arrival_now", None),
                row.arrival_deadline,
            ),
        )
        for row in bookings
    ]


def _place(code: str | None) -> str:
    return place_name(code) if code else UNKNOWN_PLACE


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
