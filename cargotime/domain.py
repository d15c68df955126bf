"""The cargo shipping domain: where a cargo goes, how it gets there, what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.domain import Snapshot as AggregateSnapshot


class Location(Enum):
    """Ports and places a cargo can be booked from, to or through."""

    HAMBURG = "HAMBURG"
    HONGKONG = "HONGKONG"
    NEWYORK = "NEWYORK"
    STOCKHOLM = "STOCKHOLM"
    TOKYO = "TOKYO"
    NLRTM = "NLRTM"
    USDAL = "USDAL"
    AUMEL = "AUMEL"


class HandlingActivity(Enum):
    """What a port can do with a cargo."""

    RECEIVE = "RECEIVE"
    LOAD = "LOAD"
    UNLOAD = "UNLOAD"
    CLAIM = "CLAIM"


@dataclass(frozen=True)
class Leg:
    """One voyage of an itinerary, between two locations (named by their codes)."""

    origin: str
    destination: str
    voyage_number: str


@dataclass(frozen=True)
class Itinerary:
    """The legs along which a cargo is to be shipped."""

    origin: str
    destination: str
    legs: tuple[Leg, ...]


NextExpectedActivity = tuple[HandlingActivity, Location, str]

# The example's two registered routes, keyed by (from, to) location codes.
REGISTERED_ROUTES: dict[tuple[str, str], list[Itinerary]] = {
    ("HONGKONG", "STOCKHOLM"): [
        Itinerary(
            origin="HONGKONG",
            destination="STOCKHOLM",
            legs=(
                Leg(origin="HONGKONG", destination="NEWYORK", voyage_number="V1"),
                Leg(origin="NEWYORK", destination="STOCKHOLM", voyage_number="V2"),
            ),
        )
    ],
    ("TOKYO", "STOCKHOLM"): [
        Itinerary(
            origin="TOKYO",
            destination="STOCKHOLM",
            legs=(
                Leg(origin="TOKYO", destination="HAMBURG", voyage_number="V3"),
                Leg(origin="HAMBURG", destination="STOCKHOLM", voyage_number="V4"),
            ),
        )
    ],
}

# How long after a route is assigned the cargo is expected to arrive.
ESTIMATED_TRANSIT_TIME = timedelta(weeks=1)


class HandlingError(ValueError):
    """A handling event that the cargo's itinerary cannot explain."""


def as_location(value: object) -> Location:
    """Return *value*, a Location or the code of one, as a Location."""
    return _member(Location, value, "location")


def as_handling_activity(value: object) -> HandlingActivity:
    """Return *value*, a HandlingActivity or its name, as a HandlingActivity."""
    return _member(HandlingActivity, value, "handling activity")


def _member[E: (Location, HandlingActivity)](
    enum: type[E], value: object, what: str
) -> E:
    if isinstance(value, enum):
        return value
    for member in enum:
        if value == member.value:
            return member
    known = ", ".join(member.value for member in enum)
    msg = f"{value!r} is not a {what}; expected one of {known}."
    raise ValueError(msg)


def _voyage_number(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    msg = f"A voyage number is text or None, not {value!r}."
    raise ValueError(msg)


def _instant(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        msg = f"The {what} must be a timezone-aware datetime, not {value!r}."
        raise ValueError(msg)
    try:
        # Stored and shown as an instant: it must have one in UTC.
        value.astimezone(UTC)
    except OverflowError:
        msg = f"The {what} {value.isoformat()} is out of the range of datetimes."
        raise ValueError(msg) from None
    return value


def _itinerary(value: object) -> Itinerary:
    # Replay must never meet a route it cannot follow: check it whole, up front.
    if not isinstance(value, Itinerary):
        msg = f"A route is an Itinerary, not {value!r}."
        raise ValueError(msg)
    legs = value.legs
    if not isinstance(legs, tuple | list) or not legs:
        msg = "A route needs at least one leg."
        raise ValueError(msg)
    checked = []
    for leg in legs:
        if not isinstance(leg, Leg) or not isinstance(leg.voyage_number, str):
            msg = f"A leg is a Leg with a voyage number, not {leg!r}."
            raise ValueError(msg)
        checked.append(
            Leg(
                origin=as_location(leg.origin).value,
                destination=as_location(leg.destination).value,
                voyage_number=leg.voyage_number,
            )
        )
    return Itinerary(
        origin=as_location(value.origin).value,
        destination=as_location(value.destination).value,
        legs=tuple(checked),
    )


def as_next_expected_activity(value: Any) -> NextExpectedActivity | None:
    """Return *value* as an activity tuple (a JSON round trip makes it a list)."""
    if value is None:
        return None
    activity, location, voyage_number = value
    return (HandlingActivity(activity), Location(location), str(voyage_number))


class Cargo(Aggregate):
    """A booked cargo, and everything that has happened to it since."""

    def __init__(
        self, origin: Location, destination: Location, arrival_deadline: datetime
    ) -> None:
        self._origin = origin
        self._destination = destination
        self._arrival_deadline = arrival_deadline
        self._transport_status = "NOT_RECEIVED"
        self._routing_status = "NOT_ROUTED"
        self._is_misdirected = False
        self._estimated_time_of_arrival: datetime | None = None
        self._next_expected_activity: NextExpectedActivity | None = None
        self._route: Itinerary | None = None
        self._last_known_location: Location | None = None
        self._current_voyage_number: str | None = None

    @property
    def origin(self) -> Location:
        return self._origin

    @property
    def destination(self) -> Location:
        return self._destination

    @property
    def arrival_deadline(self) -> datetime:
        return self._arrival_deadline

    @property
    def transport_status(self) -> str:
        return self._transport_status

    @property
    def routing_status(self) -> str:
        return self._routing_status

    @property
    def is_misdirected(self) -> bool:
        return self._is_misdirected

    @property
    def estimated_time_of_arrival(self) -> datetime | None:
        return self._estimated_time_of_arrival

    @property
    def next_expected_activity(self) -> NextExpectedActivity | None:
        return self._next_expected_activity

    @property
    def route(self) -> Itinerary | None:
        return self._route

    @property
    def last_known_location(self) -> Location | None:
        return self._last_known_location

    @property
    def current_voyage_number(self) -> str | None:
        return self._current_voyage_number

    @classmethod
    def new_booking(
        cls,
        origin: Location,
        destination: Location,
        arrival_deadline: datetime,
        *,
        tracking_id: UUID | None = None,
        timestamp: datetime | None = None,
    ) -> Cargo:
        """Book a new cargo; a new tracking ID and now are the defaults."""
        return cls._create(
            cls.BookingStarted,
            id=tracking_id or uuid4(),
            origin=as_location(origin),
            destination=as_location(destination),
            arrival_deadline=_instant(arrival_deadline, "arrival deadline"),
            timestamp=timestamp,
        )

    def change_destination(
        self, destination: Location, *, timestamp: datetime | None = None
    ) -> None:
        """Send the cargo somewhere else."""
        self.trigger_event(
            self.DestinationChanged,
            destination=as_location(destination),
            timestamp=timestamp,
        )

    def assign_route(
        self, itinerary: Itinerary, *, timestamp: datetime | None = None
    ) -> None:
        """Route the cargo along *itinerary*."""
        self.trigger_event(
            self.RouteAssigned, route=_itinerary(itinerary), timestamp=timestamp
        )

    def register_handling_event(
        self,
        voyage_number: str | None,
        location: Location,
        handling_activity: HandlingActivity,
        *,
        timestamp: datetime | None = None,
    ) -> None:
        """Record that *location* did *handling_activity* with the cargo."""
        voyage_number = _voyage_number(voyage_number)
        location = as_location(location)
        handling_activity = as_handling_activity(handling_activity)
        self._check_handling(voyage_number, location, handling_activity)
        self.trigger_event(
            self.HandlingEventRegistered,
            voyage_number=voyage_number,
            location=location,
            handling_activity=handling_activity,
            timestamp=timestamp,
        )

    def _check_handling(
        self,
        voyage_number: str | None,
        location: Location,
        handling_activity: HandlingActivity,
    ) -> None:
        # Refuse what replay could not apply, so that a stored event always replays.
        if self._route is None:
            msg = "The cargo has no route yet: assign a route before handling it."
            raise HandlingError(msg)
        loading = handling_activity is HandlingActivity.LOAD
        if loading and self._leg_from(location, voyage_number) is None:
            msg = (
                f"No leg of the cargo's route leaves {location.value} "
                f"on voyage {voyage_number}."
            )
            raise HandlingError(msg)

    def _leg_from(self, location: Location, voyage_number: str | None) -> Leg | None:
        assert self._route is not None
        for leg in self._route.legs:
            if leg.origin == location.value and leg.voyage_number == voyage_number:
                return leg
        return None

    def _next_leg_after(
        self, location: Location, voyage_number: str | None
    ) -> Leg | None:
        assert self._route is not None
        legs = self._route.legs
        for leg, next_leg in zip(legs, legs[1:], strict=False):
            if leg.destination == location.value and leg.voyage_number == voyage_number:
                return next_leg
        return None

    class Event(Aggregate.Event):
        def apply(self, aggregate: Aggregate) -> None:
            self.apply_to(cast(Cargo, aggregate))

        def apply_to(self, cargo: Cargo) -> None:
            """Evolve *cargo* by this event."""

    class BookingStarted(Aggregate.Created):
        origin: Location
        destination: Location
        arrival_deadline: datetime

    class DestinationChanged(Event):
        destination: Location

        def apply_to(self, cargo: Cargo) -> None:
            cargo._destination = self.destination

    class RouteAssigned(Event):
        route: Itinerary

        def apply_to(self, cargo: Cargo) -> None:
            cargo._route = self.route
            cargo._routing_status = "ROUTED"
            # From the event's own time, so that replay is deterministic.
            cargo._estimated_time_of_arrival = self.timestamp + ESTIMATED_TRANSIT_TIME
            cargo._next_expected_activity = self._first_activity(cargo)
            cargo._is_misdirected = False

        def _first_activity(self, cargo: Cargo) -> NextExpectedActivity:
            # A rerouted cargo waits where it was last seen, for the leg leaving it.
            location = cargo.last_known_location
            if location is None:
                return (HandlingActivity.RECEIVE, cargo.origin, "")
            for leg in self.route.legs:
                if leg.origin == location.value:
                    return (HandlingActivity.LOAD, location, leg.voyage_number)
            return (HandlingActivity.RECEIVE, location, "")

    class HandlingEventRegistered(Event):
        voyage_number: str | None
        location: Location
        handling_activity: HandlingActivity

        def apply_to(self, cargo: Cargo) -> None:
            activity = self.handling_activity
            if activity is HandlingActivity.RECEIVE:
                self._received(cargo)
            elif activity is HandlingActivity.LOAD:
                self._loaded(cargo)
            elif activity is HandlingActivity.UNLOAD:
                self._unloaded(cargo)
            else:
                cargo._next_expected_activity = None
                cargo._transport_status = "CLAIMED"

        def _received(self, cargo: Cargo) -> None:
            assert cargo._route is not None
            cargo._transport_status = "IN_PORT"
            cargo._last_known_location = self.location
            cargo._next_expected_activity = (
                HandlingActivity.LOAD,
                self.location,
                cargo._route.legs[0].voyage_number,
            )

        def _loaded(self, cargo: Cargo) -> None:
            cargo._transport_status = "ONBOARD_CARRIER"
            cargo._current_voyage_number = self.voyage_number
            leg = cargo._leg_from(self.location, self.voyage_number)
            assert leg is not None
            cargo._next_expected_activity = (
                HandlingActivity.UNLOAD,
                Location(leg.destination),
                leg.voyage_number,
            )

        def _unloaded(self, cargo: Cargo) -> None:
            cargo._current_voyage_number = None
            cargo._last_known_location = self.location
            cargo._transport_status = "IN_PORT"
            if self.location == cargo.destination:
                cargo._next_expected_activity = (
                    HandlingActivity.CLAIM,
                    self.location,
                    "",
                )
                return
            next_leg = cargo._next_leg_after(self.location, self.voyage_number)
            if next_leg is None:
                cargo._is_misdirected = True
                cargo._next_expected_activity = None
            else:
                cargo._next_expected_activity = (
                    HandlingActivity.LOAD,
                    self.location,
                    next_leg.voyage_number,
                )

    class Snapshot(AggregateSnapshot):
        def mutate(self, _: None) -> Cargo:
            cargo = cast(Cargo, super().mutate(_))
            # JSON turned the activity tuple into a list: give it back its shape.
            cargo._next_expected_activity = as_next_expected_activity(
                cargo._next_expected_activity
            )
            return cargo
