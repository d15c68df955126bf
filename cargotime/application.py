"""The booking application, and time travel over its cargos."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol, cast, runtime_checkable
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.persistence import JSONTranscoder, Recording, Transcoding

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

# The recorder reads the index rows to write from this keyword of insert_events().
EVENT_TIMESTAMPS_KWARG = "event_timestamps"

DEFAULT_SNAPSHOT_INTERVAL = 100


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
        return cast(Cargo, self.repository.get(tracking_id))


@runtime_checkable
class TimestampIndex(Protocol):
    """A recorder that can say which version an aggregate had at a time."""

    def get_version_at_timestamp(
        self, originator_id: UUID, timestamp: datetime
    ) -> int | None: ...


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
        processing_event.saved_kwargs[EVENT_TIMESTAMPS_KWARG] = [
            (event.originator_id, event.originator_version, event.timestamp)
            for event in processing_event.events
            if isinstance(event, Cargo.Event | Cargo.BookingStarted)
        ]
        return super()._record(processing_event)

    def get_cargo_at_timestamp(self, tracking_id: UUID, timestamp: datetime) -> Cargo:
        """Return the cargo as it was at *timestamp* (an aware datetime)."""
        if timestamp.tzinfo is None or timestamp.utcoffset() is None:
            msg = f"The timestamp must be timezone-aware, not naive: {timestamp}"
            raise ValueError(msg)
        index = self.recorder
        if not isinstance(index, TimestampIndex):
            msg = f"{type(index).__name__} keeps no timestamp index."
            raise TypeError(msg)
        version = index.get_version_at_timestamp(tracking_id, timestamp)
        if version is None:
            msg = f"Cargo {tracking_id} did not exist at {timestamp.isoformat()}."
            raise CargoNotFoundAtTimestamp(msg)
        return cast(Cargo, self.repository.get(tracking_id, version=version))
