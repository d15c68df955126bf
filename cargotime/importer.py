"""Import cargo histories with their original timestamps, all or nothing.

Each event is a mapping with ``tracking_id``, ``timestamp`` (ISO 8601 with an offset),
``type`` and the fields of that type:

- ``BookingStarted``: ``origin``, ``destination`` (location codes), ``arrival_deadline``
- ``DestinationChanged``: ``destination``
- ``RouteAssigned``: ``route``: ``{origin, destination, legs: [{origin, destination,
  voyage_number}]}``
- ``HandlingEventRegistered``: ``location``, ``handling_activity`` (RECEIVE, LOAD,
  UNLOAD, CLAIM) and ``voyage_number`` (null when there is none)

A new cargo's first event is its ``BookingStarted``; events of a cargo already stored
continue its history. Within a cargo, timestamps never go back. Everything is checked
before anything is written, and then every cargo is saved in one ``save()``: one
transaction, so an import is stored whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from cargotime.application import BookingApplication, as_tracking_id
from cargotime.domain import (
    Cargo,
    HandlingActivity,
    Itinerary,
    Leg,
    Location,
    as_handling_activity,
    as_location,
    check_instant,
)

FIELDS: Mapping[str, frozenset[str]] = {
    "BookingStarted": frozenset({"origin", "destination", "arrival_deadline"}),
    "DestinationChanged": frozenset({"destination"}),
    "RouteAssigned": frozenset({"route"}),
    "HandlingEventRegistered": frozenset(
        {"location", "handling_activity", "voyage_number"}
    ),
}
COMMON = frozenset({"tracking_id", "timestamp", "type"})
ROUTE_FIELDS = frozenset({"origin", "destination", "legs"})
LEG_FIELDS = frozenset({"origin", "destination", "voyage_number"})
ROUTE_SHAPE = (
    "route must be {origin, destination, legs: [{origin, destination, voyage_number}]}"
)


class HistoryError(ValueError):
    """An event that cannot be imported; the message names its line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class HistoryEvent:
    """One event to import, read from line *line* of its source."""

    line: int
    tracking_id: UUID
    timestamp: datetime
    type: str
    fields: Mapping[str, Any]


@dataclass
class ImportSummary:
    """What an import stored."""

    booked: list[UUID] = field(default_factory=list)
    continued: list[UUID] = field(default_factory=list)
    events: int = 0


def read_json_lines(lines: Iterable[str]) -> list[HistoryEvent]:
    """Parse one JSON object per line (blank lines are skipped)."""
    events = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text, object_pairs_hook=_object)
        except json.JSONDecodeError as error:
            raise HistoryError(number, f"not valid JSON: {error.msg}") from None
        except RecursionError:
            raise HistoryError(
                number, "not an event: its JSON is nested too deeply to read"
            ) from None
        except _DuplicateKey as error:
            raise HistoryError(
                number, f"the key {error.key!r} is given twice in one object"
            ) from None
        except ValueError as error:
            # Such as an integer of thousands of digits, which Python will not read.
            raise HistoryError(number, f"not valid JSON: {error}") from None
        events.append(parse_event(number, data))
    return events


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; an import takes neither silently.
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def parse_event(line: int, data: Any) -> HistoryEvent:
    """Check one event's mapping, and return it with its values parsed."""
    if not isinstance(data, dict):
        raise HistoryError(line, f"expected a JSON object, not {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        known = ", ".join(FIELDS)
        raise HistoryError(
            line, f"unknown event type {kind!r}; expected one of {known}"
        )
    allowed = COMMON | FIELDS[kind]
    required = allowed - {"voyage_number"}
    if missing := sorted(required - set(data)):
        raise HistoryError(line, f"{kind} needs {', '.join(missing)}")
    if unknown := sorted(set(data) - allowed):
        raise HistoryError(line, f"{kind} has no field {', '.join(unknown)}")
    try:
        tracking_id = as_tracking_id(data["tracking_id"])
    except ValueError:
        raise HistoryError(
            line, f"tracking_id {data['tracking_id']!r} is no UUID"
        ) from None
    fields = {key: data[key] for key in FIELDS[kind] if key in data}
    return HistoryEvent(
        line, tracking_id, _instant(line, "timestamp", data["timestamp"]), kind, fields
    )


def import_history(
    app: BookingApplication, events: Iterable[HistoryEvent]
) -> ImportSummary:
    """Check *events*, then store them in one transaction with their own timestamps."""
    summary = ImportSummary()
    cargos: dict[UUID, Cargo] = {}
    last_line: dict[UUID, int] = {}
    now = check_instant(app.clock(), "time of the application's clock")
    for event in events:
        if event.timestamp > now:
            raise HistoryError(
                event.line,
                f"the timestamp {event.timestamp.isoformat()} is in the future",
            )
        cargo = cargos.get(event.tracking_id)
        if cargo is None:
            cargo = cargos[event.tracking_id] = _start(app, event, summary)
        elif event.type == "BookingStarted":
            raise HistoryError(
                event.line,
                f"cargo {event.tracking_id} is booked a second time; a cargo is "
                "booked once, by its first event",
            )
        if event.type != "BookingStarted":
            _check_order(cargo, event, last_line.get(event.tracking_id))
            _apply(cargo, event)
        last_line[event.tracking_id] = event.line
        summary.events += 1
    if cargos:
        # One save, one transaction: every cargo of the import, or none of them.
        app.save(*cargos.values())
    return summary


def _start(
    app: BookingApplication, event: HistoryEvent, summary: ImportSummary
) -> Cargo:
    exists = event.tracking_id in app.repository
    if event.type == "BookingStarted":
        if exists:
            raise HistoryError(
                event.line,
                f"cargo {event.tracking_id} is already stored; import only the "
                "events after its last one",
            )
        summary.booked.append(event.tracking_id)
        values = event.fields
        return Cargo.new_booking(
            _location(event.line, values["origin"]),
            _location(event.line, values["destination"]),
            _instant(event.line, "arrival_deadline", values["arrival_deadline"]),
            tracking_id=event.tracking_id,
            timestamp=event.timestamp,
        )
    if not exists:
        raise HistoryError(
            event.line,
            f"cargo {event.tracking_id} is not stored and is not booked before this "
            "line: its first event must be BookingStarted",
        )
    summary.continued.append(event.tracking_id)
    return app.get_cargo(event.tracking_id)


def _check_order(cargo: Cargo, event: HistoryEvent, since: int | None) -> None:
    if event.timestamp >= cargo.modified_on:
        return
    where = f"line {since}" if since else "its last stored event"
    raise HistoryError(
        event.line,
        f"the timestamp {event.timestamp.isoformat()} of cargo {event.tracking_id} "
        f"goes back before {where} ({cargo.modified_on.isoformat()}): a cargo's "
        "events must come in the order they happened",
    )


def _apply(cargo: Cargo, event: HistoryEvent) -> None:
    values, line, at = event.fields, event.line, event.timestamp
    try:
        if event.type == "DestinationChanged":
            cargo.change_destination(
                _location(line, values["destination"]), timestamp=at
            )
        elif event.type == "RouteAssigned":
            cargo.assign_route(_itinerary(line, values["route"]), timestamp=at)
        else:
            # The domain refuses a voyage number that is not text, as ValueError.
            cargo.register_handling_event(
                values.get("voyage_number"),
                _location(line, values["location"]),
                _activity(line, values["handling_activity"]),
                timestamp=at,
            )
    except HistoryError:
        raise
    except ValueError as error:
        # The domain's own refusals, such as handling a cargo that has no route.
        raise HistoryError(line, str(error)) from None


def _instant(line: int, name: str, value: Any) -> datetime:
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise HistoryError(
                line, f"{name} {value!r} is not an ISO 8601 datetime"
            ) from None
    elif isinstance(value, datetime):
        # From Python callers of parse_event().
        instant = value
    else:
        raise HistoryError(
            line, f"{name} {value!r} is not an ISO 8601 datetime in a string"
        )
    try:
        return check_instant(instant, name)
    except ValueError as error:
        raise HistoryError(line, str(error)) from None


def _location(line: int, value: Any) -> Location:
    try:
        return as_location(value)
    except ValueError:
        known = ", ".join(member.value for member in Location)
        raise HistoryError(
            line, f"unknown location {value!r}; expected one of {known}"
        ) from None


def _activity(line: int, value: Any) -> HandlingActivity:
    try:
        return as_handling_activity(value)
    except ValueError:
        known = ", ".join(member.value for member in HandlingActivity)
        raise HistoryError(
            line, f"unknown handling_activity {value!r}; expected one of {known}"
        ) from None


def _itinerary(line: int, value: Any) -> Itinerary:
    # Only the shape is checked here; the domain checks the values, as it does for
    # every route, and _apply names its refusal by line.
    if not isinstance(value, dict) or set(value) != ROUTE_FIELDS:
        raise HistoryError(line, ROUTE_SHAPE)
    legs = value["legs"]
    if not isinstance(legs, list) or not all(
        isinstance(leg, dict) and set(leg) == LEG_FIELDS for leg in legs
    ):
        raise HistoryError(line, ROUTE_SHAPE)
    return Itinerary(
        origin=value["origin"],
        destination=value["destination"],
        legs=tuple(
            Leg(
                origin=leg["origin"],
                destination=leg["destination"],
                voyage_number=leg["voyage_number"],
            )
            for leg in legs
        ),
    )
