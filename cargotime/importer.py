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
continue its history. Within a cargo, timestamps never go back.

The events are read, checked and saved as they come, a batch of cargos per ``save()``,
all inside one database transaction: the import is stored whole or, at the first bad
line, not at all. Memory holds the cargos of the last ``HELD_CARGOS`` tracking IDs seen
and at most ``EVENTS_PER_SAVE`` unsaved events of at most ``CHARS_PER_SAVE`` characters,
whatever the size of the file; a line longer than ``MAX_LINE_CHARS`` is refused before
it is read whole. A cargo's
lines may be spread over the file: one that left memory is read back from the database,
inside the same transaction, when its next line comes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

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

# How many cargos an import keeps in memory: those of the tracking IDs seen last. A
# cargo's lines further apart than this read it back from the database.
HELD_CARGOS = 1_000
# How many unsaved events an import holds at most; reaching it saves them all.
EVENTS_PER_SAVE = 10_000
# How many characters of unsaved lines an import holds at most; reaching it saves them
# all. Ten thousand events of a few hundred characters stay below it, so only a file of
# long lines (routes of many legs) saves sooner: their events take far more memory than
# the count allows for.
CHARS_PER_SAVE = 4_000_000
# The longest line an import reads. An event takes a few hundred characters, a route of
# a hundred legs under ten thousand. Reading stops here, so that a line without an end
# (or a file that is no history at all) cannot fill the memory.
MAX_LINE_CHARS = 10_000
# How much of an over-long message is shown: its start and its end, which name the
# line and why, around a value that may be as long as the line.
MAX_MESSAGE_CHARS = 500

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
        super().__init__(_clipped(f"line {line}: {message}"))
        self.line = line


def _clipped(message: str) -> str:
    # A value from the file is quoted whole in a message; a hostile one may be long.
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    tail = MAX_MESSAGE_CHARS // 4
    return f"{message[: MAX_MESSAGE_CHARS - tail - 5]} […] {message[-tail:]}"


@dataclass(frozen=True)
class HistoryEvent:
    """One event to import, read from line *line* of its source."""

    line: int
    tracking_id: UUID
    timestamp: datetime
    type: str
    fields: Mapping[str, Any]
    # The length of its line, which the import counts against CHARS_PER_SAVE.
    size: int = 0


@dataclass
class ImportSummary:
    """What an import stored: cargos booked, cargos continued, events."""

    booked: int = 0
    continued: int = 0
    events: int = 0

    @property
    def cargos(self) -> int:
        return self.booked + self.continued


def read_json_lines(lines: Iterable[str]) -> list[HistoryEvent]:
    """Parse one JSON object per line (blank lines are skipped)."""
    return list(iter_json_lines(lines))


def iter_json_lines(lines: Iterable[str]) -> Iterator[HistoryEvent]:
    """Parse one JSON object per line as it is read (blank lines are skipped)."""
    for number, text in enumerate(_bounded(lines), start=1):
        if len(text.rstrip("\r\n")) > MAX_LINE_CHARS:
            raise HistoryError(
                number,
                f"the line is longer than {MAX_LINE_CHARS:,} characters, more than "
                "any event needs",
            )
        if number == 1:
            # A byte order mark, as some editors on Windows write: still UTF-8 text.
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        try:
            data = json.loads(text, object_pairs_hook=_object)
        except json.JSONDecodeError as error:
            # Its message may end in "at" already ("Invalid control character at").
            problem = error.msg.removesuffix(" at")
            raise HistoryError(
                number, f"not valid JSON: {problem} at column {error.colno}"
            ) from None
        except RecursionError:
            raise HistoryError(
                number, "not an event: its JSON is nested too deeply to read"
            ) from None
        except _DuplicateKey as error:
            raise HistoryError(
                number, f"the key {error.key!r} is given twice in one object"
            ) from None
        except ValueError:
            # An integer of thousands of digits, which Python will not read.
            raise HistoryError(
                number,
                "not valid JSON: it holds a number of more than "
                f"{sys.get_int_max_str_digits():,} digits",
            ) from None
        event = parse_event(number, data)
        yield dataclasses.replace(event, size=len(text))


def _bounded(lines: Iterable[str]) -> Iterator[str]:
    # Iterating a file reads a line whole, however long; readline() stops at a limit,
    # one past the longest line taken, with room for its line end.
    readline = getattr(lines, "readline", None)
    if readline is None:
        yield from lines
        return
    while text := readline(MAX_LINE_CHARS + 2):
        yield text


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
    app: BookingApplication,
    events: Iterable[HistoryEvent],
    *,
    held_cargos: int = HELD_CARGOS,
    events_per_save: int = EVENTS_PER_SAVE,
    chars_per_save: int = CHARS_PER_SAVE,
    saved: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Check and store *events* in one transaction, with their own timestamps."""
    if held_cargos < 1 or events_per_save < 1 or chars_per_save < 1:
        msg = "An import holds at least one cargo and saves at least one event."
        raise ValueError(msg)
    store = _DjangoStore.of(app)
    if store is None:
        # A recorder whose saves cannot share one transaction: every cargo stays in
        # memory for one save at the end, the only way to keep all or nothing.
        importer = _Import(app, None, None, None, None, saved)
        importer.add_all(events)
        return importer.summary
    with store.transaction():
        importer = _Import(
            app, store, held_cargos, events_per_save, chars_per_save, saved
        )
        importer.add_all(events)
    return importer.summary


class _Import:
    """One import's state: the cargos in memory, their unsaved events, the counts."""

    def __init__(
        self,
        app: BookingApplication,
        store: _DjangoStore | None,
        held_cargos: int | None,
        events_per_save: int | None,
        chars_per_save: int | None,
        saved: Callable[[ImportSummary], None] | None,
    ) -> None:
        self.app = app
        self.store = store
        self.held_cargos = held_cargos
        self.events_per_save = events_per_save
        self.chars_per_save = chars_per_save
        self.saved = saved
        self.summary = ImportSummary()
        self.now = check_instant(app.clock(), "time of the application's clock")
        # Tracking ID -> its cargo, least recently seen first.
        self.held: OrderedDict[UUID, _Held] = OrderedDict()
        self.unsaved: dict[UUID, Cargo] = {}
        self.unsaved_events = 0
        # The characters of the unsaved events' lines, by cargo and in all.
        self.unsaved_sizes: dict[UUID, int] = {}
        self.unsaved_chars = 0
        # The notification id of the import's first stored event, and whether any cargo
        # left memory: then the database counts the cargos continued.
        self.first_id: int | None = None
        self.forgot = False

    def add_all(self, events: Iterable[HistoryEvent]) -> None:
        for event in events:
            self.add(event)
        self.save()
        if self.forgot and self.store is not None and self.first_id is not None:
            cargos = self.store.cargos_since(self.first_id)
            self.summary.continued = cargos - self.summary.booked

    def add(self, event: HistoryEvent) -> None:
        if event.timestamp > self.now:
            raise HistoryError(
                event.line,
                f"the timestamp {event.timestamp.isoformat()} is in the future",
            )
        held = self.held.get(event.tracking_id)
        if held is None:
            held = self._start(event)
        else:
            self.held.move_to_end(event.tracking_id)
            if event.type == "BookingStarted":
                raise HistoryError(
                    event.line,
                    f"cargo {event.tracking_id} is booked a second time; a cargo is "
                    "booked once, by its first event",
                )
        if event.type != "BookingStarted":
            _check_order(held.cargo, event, held.line)
            _apply(held.cargo, event)
        held.line = event.line
        self.unsaved[event.tracking_id] = held.cargo
        self.unsaved_events += 1
        sizes = self.unsaved_sizes
        sizes[event.tracking_id] = sizes.get(event.tracking_id, 0) + event.size
        self.unsaved_chars += event.size
        self.summary.events += 1
        if (self.events_per_save and self.unsaved_events >= self.events_per_save) or (
            self.chars_per_save and self.unsaved_chars >= self.chars_per_save
        ):
            self.save()

    def save(self, tracking_ids: Iterable[UUID] | None = None) -> None:
        """Save the cargos with unsaved events (or those of *tracking_ids*) at once."""
        unsaved = self.unsaved
        cargos = (
            list(unsaved.values())
            if tracking_ids is None
            else [unsaved[t] for t in tracking_ids if t in unsaved]
        )
        if not cargos:
            return
        events = sum(len(cargo.pending_events) for cargo in cargos)
        recordings = self.app.save(*cargos)
        if self.first_id is None and recordings:
            self.first_id = min(r.notification.id for r in recordings)
        cache = self.app.repository.cache
        for cargo in cargos:
            del unsaved[cargo.id]
            self.unsaved_chars -= self.unsaved_sizes.pop(cargo.id, 0)
            if cache is not None:
                # The cache would keep every cargo of the file, and, should the
                # import roll back, states the database never committed.
                with contextlib.suppress(KeyError):
                    cache.get(cargo.id, evict=True)
        self.unsaved_events -= events
        if self.store is not None:
            self.store.forget_queries()
        if self.saved is not None:
            self.saved(self.summary)

    def _make_room(self) -> None:
        # The tenth of the cargos seen longest ago leave memory, saved together: in
        # a file grouped by cargo or ordered by time, their histories are complete,
        # and a save of whole histories needs no reading back.
        if not self.held_cargos or len(self.held) < self.held_cargos:
            return
        leaving = [
            self.held.popitem(last=False)[0]
            for _ in range(max(1, self.held_cargos // 10))
        ]
        self.forgot = True
        self.save(leaving)

    def _start(self, event: HistoryEvent) -> _Held:
        self._make_room()
        stored = _stored_cargo(self.app, event.tracking_id)
        if event.type == "BookingStarted":
            if stored is not None:
                earlier = " or booked further up the file" if self.forgot else ""
                raise HistoryError(
                    event.line,
                    f"cargo {event.tracking_id} is already stored{earlier}; import "
                    "only the events after its last one",
                )
            self.summary.booked += 1
            values = event.fields
            cargo = Cargo.new_booking(
                _location(event.line, values["origin"]),
                _location(event.line, values["destination"]),
                _instant(event.line, "arrival_deadline", values["arrival_deadline"]),
                tracking_id=event.tracking_id,
                timestamp=event.timestamp,
            )
            held = self.held[event.tracking_id] = _Held(cargo, None)
            return held
        if stored is None:
            raise HistoryError(
                event.line,
                f"cargo {event.tracking_id} is not stored and is not booked before "
                "this line: its first event must be BookingStarted",
            )
        if not self.forgot:
            # Until a cargo leaves memory, a cargo read from the database is one
            # stored before the import; afterwards the database counts them.
            self.summary.continued += 1
        held = self.held[event.tracking_id] = _Held(stored, None)
        return held


@dataclass
class _Held:
    cargo: Cargo
    # The line of the cargo's last event in this file, while it is in memory.
    line: int | None


def _stored_cargo(app: BookingApplication, tracking_id: UUID) -> Cargo | None:
    try:
        return app.get_cargo(tracking_id)
    except AggregateNotFoundError:
        return None


class _DjangoStore:
    """The database of an application that stores through eventsourcing-django."""

    def __init__(self, recorder: Any) -> None:
        from django.db import DEFAULT_DB_ALIAS, connections

        self.recorder = recorder
        self.connection = connections[recorder.using or DEFAULT_DB_ALIAS]

    @classmethod
    def of(cls, app: BookingApplication) -> _DjangoStore | None:
        # Only a Django recorder's saves join an outer transaction.atomic(); and if
        # eventsourcing-django was never imported, the recorder is none of its.
        recorders = sys.modules.get("eventsourcing_django.recorders")
        if recorders is None or not isinstance(
            app.recorder, recorders.DjangoAggregateRecorder
        ):
            return None
        return cls(app.recorder)

    def transaction(self) -> AbstractContextManager[object]:
        from django.db import transaction

        return transaction.atomic(using=self.connection.alias)

    def forget_queries(self) -> None:
        # With DEBUG on, Django logs the last 9,000 queries with their parameters:
        # for an import, gigabytes of inserts. A query counter in a test sets
        # force_debug_cursor, and keeps its log.
        connection = self.connection
        if connection.queries_logged and not connection.force_debug_cursor:
            connection.queries_log.clear()

    def cargos_since(self, first_id: int) -> int:
        """Return how many aggregates have events from notification *first_id* on."""
        # Inside the import's transaction, which holds the write lock since its first
        # save: every event from that id on is the import's own.
        recorder = self.recorder
        return int(
            recorder.model.objects.using(self.connection.alias)
            .filter(application_name=recorder.application_name, id__gte=first_id)
            .values("originator_id")
            .distinct()
            .count()
        )


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
