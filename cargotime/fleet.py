"""Every cargo as it was at an instant: filtered, counted, paged and compared, in SQL.

The timestamp index holds each cargo's state after each of its events. A cargo's state
at T is its row with the highest (timestamp, version) at or before T, the rule time
travel follows, so every row here equals ``get_cargo_at_timestamp(tracking_id, T)`` for
the same fields. Each query walks the application's bookings and probes the index once
per cargo: it grows with the number of cargos, never with the number of events.

Usable from a shell or a task::

    from cargotime.fleet import FleetFilters, fleet_at, fleet_counts
    page = fleet_at(instant, filters=FleetFilters(transport_status="IN_PORT"))
    counts = fleet_counts(instant)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connections
from eventsourcing.application import Application

from cargotime import sql
from cargotime.application import tracking_id_prefix
from cargotime.cargo_states import STATE_COLUMNS
from cargotime.domain import Location, check_instant
from cargotime.models import EventTimestamp, database_alias

# The columns each fleet row reads, in this order, after the booking's timestamp.
COLUMNS = ("originator_id", "originator_version", "timestamp", *STATE_COLUMNS)
# What makes a cargo count as changed between two instants.
COMPARED = ("transport_status", "last_known_location", "destination", "route")


@dataclass(frozen=True)
class FleetCargo:
    """A cargo as it was at the instant: the state after its last event by then."""

    tracking_id: UUID
    version: int
    last_event_at: datetime
    origin: str
    destination: str
    arrival_deadline: datetime
    transport_status: str
    routing_status: str
    is_misdirected: bool
    last_known_location: str | None
    current_voyage_number: str | None
    estimated_time_of_arrival: datetime | None
    route: str | None
    booked_at: datetime

    @property
    def is_late(self) -> bool:
        """Return whether the cargo is expected after its arrival deadline."""
        eta = self.estimated_time_of_arrival
        return eta is not None and eta > self.arrival_deadline


@dataclass(frozen=True)
class FleetFilters:
    """Which cargos to keep; None keeps any value. Locations are codes."""

    transport_status: str | None = None
    routing_status: str | None = None
    location: str | None = None
    destination: str | None = None
    misdirected: bool | None = None
    late: bool | None = None
    voyage: str | None = None
    # The start of a tracking ID, or part of a place's code or name.
    q: str = ""
    # The codes of the places *q* names, where the caller knows more names (in other
    # languages) than the domain's English labels; None: found from *q* here.
    places: tuple[str, ...] | None = None

    def without(self, facet: str) -> FleetFilters:
        """Return these filters, less the one named *facet*."""
        unset: dict[str, Any] = {facet: None}
        return replace(self, **unset)

    def active(self) -> dict[str, Any]:
        """Return the facet filters that are set, by name."""
        return {
            name: getattr(self, name)
            for name in FACETS
            if getattr(self, name) is not None
        }


# The filters that are facets: each option shows how many cargos it would keep.
# The grouping query gives their values in this order.
FACETS = (
    "transport_status",
    "routing_status",
    "location",
    "destination",
    "misdirected",
    "late",
    "voyage",
)


@dataclass(frozen=True)
class FleetCounts:
    """How many cargos match, in all and by status, and per option of each facet."""

    count: int
    transport_status: dict[str, int]
    routing_status: dict[str, int]
    misdirected: int
    late: int
    # For each facet, its options' counts under the other filters.
    facets: dict[str, dict[Any, int]] = field(default_factory=dict)


# Where a page ends: the last cargo's booking time and tracking ID.
Cursor = tuple[datetime, UUID]


@dataclass(frozen=True)
class FleetPage:
    """Up to a page of cargos, newest booking first, and where the next page starts."""

    at: datetime
    cargos: list[FleetCargo]
    next: Cursor | None


@dataclass(frozen=True)
class FleetChange:
    """One cargo that changed between the two instants (before None: not yet booked)."""

    before: FleetCargo | None
    after: FleetCargo

    @property
    def changed(self) -> list[str]:
        """Return which of COMPARED changed, or all of them for a new booking."""
        if self.before is None:
            return list(COMPARED)
        return [
            name
            for name in COMPARED
            if getattr(self.before, name) != getattr(self.after, name)
        ]


@dataclass(frozen=True)
class FleetComparison:
    """Which cargos changed between an earlier and a later instant."""

    earlier: datetime
    later: datetime
    # (transport status before or None, transport status after): how many cargos.
    transitions: dict[tuple[str | None, str], int]
    count: int
    changes: list[FleetChange]


def fleet_at(
    at: datetime,
    *,
    app: Application[UUID] | None = None,
    filters: FleetFilters | None = None,
    limit: int = 50,
    after: Cursor | None = None,
) -> FleetPage:
    """Return the cargos as they were at *at*, a page of them after *after*."""
    if limit < 1:
        msg = f"A page holds at least one cargo, not {limit}."
        raise ValueError(msg)
    query = _Query(app, at, filters or FleetFilters())
    rows = query.page(limit + 1, after)
    more = len(rows) > limit
    cargos = rows[:limit]
    cursor = (cargos[-1].booked_at, cargos[-1].tracking_id) if more else None
    return FleetPage(at=query.at, cargos=cargos, next=cursor)


def iter_fleet(
    at: datetime,
    *,
    app: Application[UUID] | None = None,
    filters: FleetFilters | None = None,
    batch: int = 1000,
) -> Iterator[FleetCargo]:
    """Yield every cargo matching *filters* as it was at *at*, a batch per query."""
    after: Cursor | None = None
    while True:
        page = fleet_at(at, app=app, filters=filters, limit=batch, after=after)
        yield from page.cargos
        if page.next is None:
            return
        after = page.next


def fleet_counts(
    at: datetime,
    *,
    app: Application[UUID] | None = None,
    filters: FleetFilters | None = None,
) -> FleetCounts:
    """Return how many cargos matched *filters* at *at*, by status and by facet."""
    filters = filters or FleetFilters()
    groups = _Query(app, at, filters).groups()
    kept = [(values, n) for values, n in groups if _matches(values, filters)]
    transport: Counter[str] = Counter()
    routing: Counter[str] = Counter()
    for values, n in kept:
        transport[values["transport_status"]] += n
        routing[values["routing_status"]] += n
    facets: dict[str, dict[Any, int]] = {}
    for facet in FACETS:
        others = filters.without(facet)
        options: Counter[Any] = Counter()
        for values, n in groups:
            if _matches(values, others):
                options[values[facet]] += n
        facets[facet] = dict(options)
    return FleetCounts(
        count=sum(n for _, n in kept),
        transport_status=dict(transport),
        routing_status=dict(routing),
        misdirected=sum(n for values, n in kept if values["misdirected"]),
        late=sum(n for values, n in kept if values["late"]),
        facets=facets,
    )


def compare_fleet(
    at: datetime,
    other: datetime,
    *,
    app: Application[UUID] | None = None,
    filters: FleetFilters | None = None,
    limit: int = 100,
) -> FleetComparison:
    """Return the cargos whose status, location, destination or route changed."""
    # Either instant may be the earlier. The cargos compared are the fleet at the
    # later one, as *filters* keep it, each with its state at the earlier one: a
    # cargo booked between the two is a change from nothing.
    earlier, later = sorted([_instant(at), _instant(other)])
    query = _Query(app, later, filters or FleetFilters())
    changes: list[FleetChange] = []
    transitions: Counter[tuple[str | None, str]] = Counter()
    count = 0
    for change in query.changes(earlier):
        count += 1
        before, after = change.before, change.after
        key = (before.transport_status if before else None, after.transport_status)
        transitions[key] += 1
        if len(changes) < limit:
            changes.append(change)
    return FleetComparison(
        earlier=earlier,
        later=later,
        transitions=dict(transitions.most_common()),
        count=count,
        changes=changes,
    )


def place_codes(text: str) -> list[str]:
    """Return the codes of the places whose code or name contains *text*."""
    text = text.strip().lower()
    if not text:
        return []
    return [
        location.value
        for location in Location
        if text in location.value.lower() or text in location.label.lower()
    ]


def _instant(value: datetime) -> datetime:
    return check_instant(value, "instant")


def _matches(values: dict[str, Any], filters: FleetFilters) -> bool:
    return all(values[name] == wanted for name, wanted in filters.active().items())


class _Query:
    """The fleet at one instant, in one application's index, as SQL."""

    def __init__(
        self, app: Application[UUID] | None, at: datetime, filters: FleetFilters
    ) -> None:
        if app is None:
            from cargotime.apps import get_application

            app = get_application()
        self.app = app
        self.at = _instant(at)
        self.filters = filters
        self.connection = connections[database_alias(app)]
        self.connection.ensure_connection()
        self.vendor = self.connection.vendor
        if self.vendor not in {"sqlite", "postgresql"}:
            msg = f"The fleet is read from SQLite or PostgreSQL, not {self.vendor}."
            raise NotImplementedError(msg)

    def page(self, limit: int, after: Cursor | None) -> list[FleetCargo]:
        conditions, params = self._conditions(self.filters, facets=True)
        if after is not None:
            params += [self._datetime(after[0]), self._uuid(after[1])]
        statement = sql.fleet_page(
            EventTimestamp, self.vendor, COLUMNS, conditions, after=after is not None
        )
        rows = self._fetch(statement, [*self._state_params(), *params, limit])
        return [self._cargo(row) for row in rows]

    def groups(self) -> list[tuple[dict[str, Any], int]]:
        conditions, params = self._conditions(self.filters, facets=False)
        statement = sql.fleet_groups(EventTimestamp, self.vendor, COLUMNS, conditions)
        groups = []
        for *found, n in self._fetch(statement, [*self._state_params(), *params]):
            values = dict(zip(FACETS, found, strict=True))
            values["misdirected"] = bool(values["misdirected"])
            values["late"] = bool(values["late"])
            groups.append((values, int(n)))
        return groups

    def changes(self, earlier: datetime) -> Iterator[FleetChange]:
        # Each cargo of the fleet at self.at (filtered) that differs at *earlier*.
        conditions, params = self._conditions(self.filters, facets=True)
        statement = sql.fleet_changes(
            EventTimestamp, self.vendor, COLUMNS, COMPARED, conditions
        )
        params = [*self._state_params(), *self._state_params(earlier), *params]
        for row in self._fetch(statement, params):
            after = self._cargo(row[: len(COLUMNS) + 1])
            earlier_values = row[len(COLUMNS) + 1 :]
            before = (
                None
                if earlier_values[0] is None
                else self._cargo((after.booked_at, *earlier_values))
            )
            yield FleetChange(before, after)

    def _state_params(self, at: datetime | None = None) -> list[Any]:
        instant = self._datetime(self.at if at is None else at)
        return [instant, self.app.name, instant]

    def _conditions(
        self, filters: FleetFilters, *, facets: bool
    ) -> tuple[tuple[str, ...], list[Any]]:
        conditions: list[str] = []
        params: list[Any] = []
        if facets:
            equal = {
                "transport_status": "transport_status",
                "routing_status": "routing_status",
                "location": "last_known_location",
                "destination": "destination",
                "voyage": "current_voyage_number",
                "misdirected": "is_misdirected",
            }
            for name, column in equal.items():
                value = getattr(filters, name)
                if value is not None:
                    conditions.append(sql.fleet_condition(column))
                    params.append(value)
            if filters.late is not None:
                conditions.append(sql.fleet_late_condition())
                params.append(1 if filters.late else 0)
        text = filters.q.strip().lower()
        if text:
            matches: list[str] = []
            prefix = tracking_id_prefix(text)
            if prefix:
                matches.append(sql.fleet_prefix_condition(self.vendor))
                if self.vendor == "sqlite":
                    prefix = prefix.replace("-", "")
                params.append(f"{prefix}%")
            codes = (
                list(filters.places)
                if filters.places is not None
                else place_codes(text)
            )
            if codes:
                for column in ("origin", "destination", "last_known_location"):
                    matches.append(sql.fleet_condition(column, len(codes)))
                    params += codes
            conditions.append(sql.fleet_any(matches))
        return tuple(conditions), params

    def _fetch(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall())

    def _datetime(self, value: datetime) -> Any:
        return self.connection.ops.adapt_datetimefield_value(value)

    def _uuid(self, value: UUID) -> Any:
        return value if self.vendor == "postgresql" else value.hex

    def _cargo(self, row: Sequence[Any]) -> FleetCargo:
        booked_at, *values = row
        state = dict(zip(COLUMNS, values, strict=True))
        return FleetCargo(
            tracking_id=_as_uuid(state["originator_id"]),
            version=int(state["originator_version"]),
            last_event_at=_as_datetime(state["timestamp"]),
            origin=state["origin"],
            destination=state["destination"],
            arrival_deadline=_as_datetime(state["arrival_deadline"]),
            transport_status=state["transport_status"],
            routing_status=state["routing_status"],
            is_misdirected=bool(state["is_misdirected"]),
            last_known_location=state["last_known_location"],
            current_voyage_number=state["current_voyage_number"],
            estimated_time_of_arrival=_as_optional_datetime(
                state["estimated_time_of_arrival"]
            ),
            route=state["route"],
            booked_at=_as_datetime(booked_at),
        )


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        # SQLite keeps Django's datetimes as text, in UTC.
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_optional_datetime(value: Any) -> datetime | None:
    return None if value is None else _as_datetime(value)
