"""The booking application, and time travel over its cargos."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar, Protocol, cast, runtime_checkable
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.domain import CanMutateProtocol, datetime_now_with_tzinfo
from eventsourcing.persistence import (
    JSONTranscoder,
    Recording,
    StoredEvent,
    Transcoding,
)

from cargotime.cargo_states import IndexRow, index_row, replay_rows
from cargotime.domain import (
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    Itinerary,
    Leg,
    Location,
)

Clock = Callable[[], datetime]

# Stored events carry this name: renaming a class must not orphan them.
APPLICATION_NAME = "cargotime"

# The events that get a timestamp index row: every event of a Cargo.
INDEXED_EVENTS = (Cargo.Event, Cargo.BookingStarted)

# The recorder reads the index rows to write from this keyword of insert_events().
EVENT_TIMESTAMPS_KWARG = "event_timestamps"

# ... and the snapshots to write in the same transaction from this one.
SNAPSHOTS_KWARG = "snapshots"

# Time travel replays the events after the latest snapshot: fewer than this many when
# they are saved a few at a time. A snapshot is one more row in their transaction.
DEFAULT_SNAPSHOT_INTERVAL = 20


class LocationAsName(Transcoding):
    type = Location
    name = "location"

    def encode(self, obj: Location) -> str:
        return obj.name

    def decode(self, data: str) -> Location:
        return Location[data]


class HandlingActivityAsName(Transcoding):
    type = HandlingActivity
    name = "handling_activity"

    def encode(self, obj: HandlingActivity) -> str:
        return obj.name

    def decode(self, data: str) -> HandlingActivity:
        return HandlingActivity[data]


class LegAsDict(Transcoding):
    type = Leg
    name = "leg"

    def encode(self, obj: Leg) -> dict[str, str]:
        return {
            "origin": obj.origin,
            "destination": obj.destination,
            "voyage_number": obj.voyage_number,
        }

    def decode(self, data: dict[str, str]) -> Leg:
        return Leg(**data)


class ItineraryAsDict(Transcoding):
    type = Itinerary
    name = "itinerary"

    def encode(self, obj: Itinerary) -> dict[str, Any]:
        return {"origin": obj.origin, "destination": obj.destination, "legs": obj.legs}

    def decode(self, data: dict[str, Any]) -> Itinerary:
        # JSON gives the legs back as a list.
        return Itinerary(data["origin"], data["destination"], tuple(data["legs"]))


def as_tracking_id(value: object) -> UUID:
    """Return *value*, a UUID or the text of one, as a UUID."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    msg = f"{value!r} is not a tracking ID (a UUID)."
    raise ValueError(msg)


def tracking_id_prefix(text: str) -> str | None:
    """Return *text* as the canonical start of a tracking ID, or None if it is none."""
    # "61C6A8009387", "61c6a800-9387" and "61c6a800-93" all become the dashed,
    # lowercase form a tracking ID is written in: "61c6a800-9387", "61c6a800-93".
    text = text.strip().lower()
    digits = text.replace("-", "")
    if not 0 < len(digits) <= 32 or digits.strip("0123456789abcdef"):
        return None
    if text.startswith("-"):
        return None  # No tracking ID starts with a dash.
    groups = []
    for size in (8, 4, 4, 4, 12):
        if digits:
            groups.append(digits[:size])
            digits = digits[size:]
    return "-".join(groups)


class BookingApplication(Application[UUID]):
    """Book cargos, route them, and register how they are handled."""

    name = APPLICATION_NAME

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
        name: str | None = None,
    ) -> None:
        """Build the application; event timestamps come from *clock* (default: now)."""
        if name is not None:
            # Before the library's __init__, which files the events under self.name.
            self.name = name
        super().__init__(env)
        self.clock: Clock = clock or datetime_now_with_tzinfo

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(LocationAsName())
        transcoder.register(HandlingActivityAsName())
        transcoder.register(LegAsDict())
        transcoder.register(ItineraryAsDict())

    def book_new_cargo(
        self, origin: Location, destination: Location, arrival_deadline: datetime
    ) -> UUID:
        """Book a cargo and return its tracking ID."""
        cargo = Cargo.new_booking(
            origin, destination, arrival_deadline, timestamp=self.clock()
        )
        self.save(cargo)
        return cargo.id

    def change_destination(self, tracking_id: UUID, destination: Location) -> None:
        """Send the cargo somewhere else."""
        cargo = self.get_cargo(tracking_id)
        cargo.change_destination(destination, timestamp=self.clock())
        self.save(cargo)

    def request_possible_routes_for_cargo(self, tracking_id: UUID) -> list[Itinerary]:
        """Return the routes from where the cargo is to its destination."""
        cargo = self.get_cargo(tracking_id)
        start = (cargo.last_known_location or cargo.origin).value
        end = cargo.destination.value
        try:
            return list(REGISTERED_ROUTES[(start, end)])
        except KeyError:
            msg = f"There is no route from {start} to {end}."
            raise ValueError(msg) from None

    def assign_route(self, tracking_id: UUID, itinerary: Itinerary) -> None:
        """Route the cargo along *itinerary*."""
        cargo = self.get_cargo(tracking_id)
        cargo.assign_route(itinerary, timestamp=self.clock())
        self.save(cargo)

    def register_handling_event(
        self,
        tracking_id: UUID,
        voyage_number: str | None,
        location: Location,
        handling_activity: HandlingActivity,
    ) -> None:
        """Record that *location* did *handling_activity* with the cargo."""
        cargo = self.get_cargo(tracking_id)
        cargo.register_handling_event(
            voyage_number, location, handling_activity, timestamp=self.clock()
        )
        self.save(cargo)

    def get_cargo(self, tracking_id: UUID) -> Cargo:
        """Return the cargo as it is now."""
        return cast(Cargo, self.repository.get(as_tracking_id(tracking_id)))


@runtime_checkable
class OneQueryTimeTravel(Protocol):
    """A recorder that reads what rebuilds an aggregate as at a time in one query."""

    def select_events_at_timestamp(
        self, originator_id: UUID, timestamp: datetime, *, snapshot: bool
    ) -> Sequence[StoredEvent]: ...


@runtime_checkable
class OneQueryRead(Protocol):
    """A recorder that reads what rebuilds an aggregate as it is now in one query."""

    def select_latest_events(
        self, originator_id: UUID, *, snapshot: bool
    ) -> Sequence[StoredEvent]: ...


class CargoNotFoundAtTimestamp(AggregateNotFoundError):
    """The cargo is unknown, or did not exist yet at the given time."""


class SearchableTimestampsApplication(BookingApplication):
    """The booking application, able to show a cargo as it was at any moment."""

    name = APPLICATION_NAME
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": "cargotime.persistence:Factory",
    }
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Cargo: DEFAULT_SNAPSHOT_INTERVAL
    }

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
        name: str | None = None,
        snapshot_interval: int | None = DEFAULT_SNAPSHOT_INTERVAL,
    ) -> None:
        """Build the application; snapshot a cargo every *snapshot_interval* events."""
        # Existing snapshots stay readable without an interval: each one is read only
        # for versions at or after its own, so it can never show a wrong state.
        self.snapshotting_intervals = (  # type: ignore[misc]
            {Cargo: snapshot_interval} if snapshot_interval else {}
        )
        super().__init__(env, clock=clock, name=name)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        processing_event.saved_kwargs[EVENT_TIMESTAMPS_KWARG] = self._index_rows(
            processing_event
        )
        if self._snapshots_with_events:
            processing_event.saved_kwargs[SNAPSHOTS_KWARG] = self._snapshots_due(
                processing_event
            )
        return super()._record(processing_event)

    def _index_rows(self, processing_event: ProcessingEvent[UUID]) -> list[IndexRow]:
        # Each event's row holds the cargo as it was after it. A command's one event
        # leaves the cargo in memory as it was after it; anything else is replayed.
        pending: dict[UUID, list[Any]] = {}
        for event in processing_event.events:
            if isinstance(event, INDEXED_EVENTS):
                pending.setdefault(event.originator_id, []).append(event)
        rows: list[IndexRow] = []
        for tracking_id, events in pending.items():
            cargo = processing_event.aggregates.get(tracking_id)
            last = events[-1]
            if (
                len(events) == 1
                and isinstance(cargo, Cargo)
                and cargo.version == last.originator_version
            ):
                rows.append(index_row(last, cargo))
                continue
            first_version = events[0].originator_version
            base = (
                None
                if first_version == 1
                else cast(
                    Cargo, self.repository.get(tracking_id, version=first_version - 1)
                )
            )
            rows.extend(replay_rows(events, base))
        return rows

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        if not self._snapshots_with_events:
            super()._take_snapshots(processing_event)

    @cached_property
    def _snapshots_with_events(self) -> bool:
        # Then a snapshot costs no second transaction, and no reading back.
        return self.snapshots is not None and bool(
            getattr(self.recorder, "writes_snapshots_with_events", False)
        )

    def _snapshots_due(
        self, processing_event: ProcessingEvent[UUID]
    ) -> list[StoredEvent]:
        # An aggregate whose events reach a multiple of its interval is snapshotted
        # as it is after the save: the state its stored events rebuild.
        due: dict[UUID, Cargo] = {}
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if (
                isinstance(aggregate, Cargo)
                and interval
                and event.originator_version % interval == 0
            ):
                due[event.originator_id] = aggregate
        return [
            self.mapper.to_stored_event(Cargo.Snapshot.take(aggregate))
            for aggregate in due.values()
        ]

    def get_cargo(self, tracking_id: UUID) -> Cargo:
        """Return the cargo as it is now, read in one round trip."""
        tracking_id = as_tracking_id(tracking_id)
        reader = self._latest_reader
        if reader is None or self.repository.cache is not None:
            # The library's read: the snapshot, then the events after it.
            return super().get_cargo(tracking_id)
        cargo = self._project(
            reader.select_latest_events(
                tracking_id, snapshot=self.snapshots is not None
            )
        )
        if cargo is None:
            msg = f"Aggregate {tracking_id!r} version None not found."
            raise AggregateNotFoundError(msg)
        return cargo

    @cached_property
    def _latest_reader(self) -> OneQueryRead | None:
        # Checked once: a protocol's isinstance() is slow for every command.
        recorder = self.recorder
        return recorder if isinstance(recorder, OneQueryRead) else None

    def _project(self, stored_events: Sequence[StoredEvent]) -> Cargo | None:
        # The snapshot, if any, then the events after it, oldest first.
        cargo: Cargo | None = None
        for stored_event in stored_events:
            event = self.mapper.to_domain_event(stored_event)
            cargo = cast(CanMutateProtocol[Cargo], event).mutate(cargo)
        return cargo

    @cached_property
    def _time_travel_reader(self) -> OneQueryTimeTravel:
        # Checked once: a protocol's isinstance() is slow for every time travel.
        recorder = self.recorder
        if not isinstance(recorder, OneQueryTimeTravel):
            msg = f"{type(recorder).__name__} keeps no timestamp index."
            raise TypeError(msg)
        return recorder

    def get_cargo_at_timestamp(self, tracking_id: UUID, timestamp: datetime) -> Cargo:
        """Return the cargo as it was at *timestamp* (an aware datetime)."""
        if not isinstance(timestamp, datetime) or timestamp.utcoffset() is None:
            msg = f"The timestamp must be timezone-aware, not naive: {timestamp}"
            raise ValueError(msg)
        tracking_id = as_tracking_id(tracking_id)
        try:
            # In UTC: PostgreSQL refuses offsets past ±15:59 that Python allows.
            timestamp = timestamp.astimezone(UTC)
        except OverflowError:
            # Past either end of the datetimes once in UTC: after every event there
            # is, or before every one.
            if timestamp.year == 1:
                raise self._not_found(tracking_id, timestamp) from None
            timestamp = datetime.max.replace(tzinfo=UTC)
        cargo = self._project(
            self._time_travel_reader.select_events_at_timestamp(
                tracking_id, timestamp, snapshot=self.snapshots is not None
            )
        )
        if cargo is None:
            raise self._not_found(tracking_id, timestamp)
        return cargo

    def _not_found(
        self, tracking_id: UUID, timestamp: datetime
    ) -> CargoNotFoundAtTimestamp:
        msg = f"Cargo {tracking_id} did not exist at {timestamp.isoformat()}."
        return CargoNotFoundAtTimestamp(msg)
