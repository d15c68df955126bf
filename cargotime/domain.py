"""The cargo shipping domain: where a cargo goes, how it gets there, what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, datetime_now_with_tzinfo
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

    @property
    def label(self) -> str:
        """Return the place's name in plain English, such as "Rotterdam"."""
        return _LOCATION_LABELS[self]


# The values above are what stored events hold: a name for people goes here instead.
_LOCATION_LABELS = {
    Location.HAMBURG: "Hamburg",
    Location.HONGKONG: "Hong Kong",
    Location.NEWYORK: "New York",
    Location.STOCKHOLM: "Stockholm",
    Location.TOKYO: "Tokyo",
    Location.NLRTM: "Rotterdam",
    Location.USDAL: "Dallas",
    Location.AUMEL: "Melbourne",
}


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
    # A handling event's: None when the cargo is on no voyage (received, claimed).
    return (
        None
        if value is None
        else _named_voyage(value, "A voyage number", "text or None")
    )


def _named_voyage(value: object, what: str, expected: str) -> str:
    if isinstance(value, str) and value.strip() and _storable(value):
        return value
    msg = f"{what} is {expected}, not {value!r}."
    if isinstance(value, str) and not _storable(value):
        # Either database would refuse it at the save, or one would and not the other.
        msg += (
            " It holds a NUL character or a lone surrogate, which no database stores."
        )
    elif isinstance(value, str):
        # "" is what the next expected activity says when no voyage is expected.
        msg += " Blank text names no voyage."
    raise ValueError(msg)


def _storable(text: str) -> bool:
    # PostgreSQL's text holds no NUL; UTF-8, which both databases store, has no lone
    # surrogates (JSON's "\ud800" decodes to one).
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# The instants cargotime accepts, in UTC. The local time of an accepted event, and of
# its estimated arrival a week later, stays within the years 2 to 9998 in every zone,
# even at the widest offsets there ever were (about ±16 h, in local mean time). So the
# admin's date hierarchy can step to the next year, and turn local midnight back into
# UTC, and both databases, every zone and Python's datetimes can hold and show them.
EARLIEST_INSTANT = datetime(2, 1, 1, tzinfo=UTC)
END_OF_INSTANTS = datetime(9998, 1, 1, tzinfo=UTC)


def check_instant(value: object, what: str) -> datetime:
    """Return *value*, an aware datetime within cargotime's range, in UTC."""
    if not isinstance(value, datetime):
        msg = f"The {what} must be a timezone-aware datetime, not {value!r}."
        raise ValueError(msg)
    try:
        offset = value.utcoffset()
    except (ArithmeticError, TypeError, ValueError):
        msg = f"The {what} {value!r} has a time zone that gives no valid UTC offset."
        raise ValueError(msg) from None
    if offset is None:
        msg = (
            f"The {what} {value.isoformat()} has no UTC offset; add one, such as "
            "+00:00 (it must be timezone-aware)."
        )
        raise ValueError(msg)
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST_INSTANT <= in_utc < END_OF_INSTANTS:
        msg = (
            f"The {what} {value.isoformat()} is outside the range of dates and times "
            f"cargotime accepts: from {EARLIEST_INSTANT.isoformat()} up to, but not "
            f"including, {END_OF_INSTANTS.isoformat()} (UTC), which every time zone "
            "and database can show."
        )
        raise ValueError(msg)
    # A plain datetime in UTC, whatever subclass or zone it came in: what is stored,
    # what the aggregate holds in memory and what a replay reads back are the same.
    return datetime(
        in_utc.year,
        in_utc.month,
        in_utc.day,
        in_utc.hour,
        in_utc.minute,
        in_utc.second,
        in_utc.microsecond,
        tzinfo=UTC,
    )


def _timestamp(value: datetime | None) -> datetime | None:
    # None: the library stamps the event with its own aware UTC "now".
    return None if value is None else check_instant(value, "timestamp")


def _arrival_estimate(routed_at: datetime) -> datetime | None:
    # In UTC, an exact week of elapsed time: wall-clock arithmetic in a zone with
    # daylight saving time would be an hour off across a change of the clocks.
    try:
        return routed_at.astimezone(UTC) + ESTIMATED_TRANSIT_TIME
    except OverflowError:
        pass
    # Only events stored before timestamps were checked get here, from the edges of
    # the datetime range: their replay must still work.
    try:
        return routed_at + ESTIMATED_TRANSIT_TIME
    except OverflowError:
        return None


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
        if not isinstance(leg, Leg):
            msg = f"A leg is a Leg with a voyage number, not {leg!r}."
            raise ValueError(msg)
        checked.append(
            Leg(
                origin=as_location(leg.origin).value,
                destination=as_location(leg.destination).value,
                voyage_number=_named_voyage(
                    leg.voyage_number, "A leg's voyage number", "text"
                ),
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
    # The voyage number comes back as it went in: str() would make a stored None "None".
    return (HandlingActivity(activity), Location(location), voyage_number)


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
        if tracking_id is not None and not isinstance(tracking_id, UUID):
            msg = f"A tracking ID is a UUID, not {tracking_id!r}."
            raise ValueError(msg)
        return cls._create(
            cls.BookingStarted,
            id=tracking_id or uuid4(),
            origin=as_location(origin),
            destination=as_location(destination),
            arrival_deadline=check_instant(arrival_deadline, "arrival deadline"),
            timestamp=_timestamp(timestamp),
        )

    def change_destination(
        self, destination: Location, *, timestamp: datetime | None = None
    ) -> None:
        """Send the cargo somewhere else."""
        self.trigger_event(
            self.DestinationChanged,
            destination=as_location(destination),
            timestamp=self._stamp(timestamp),
        )

    def assign_route(
        self, itinerary: Itinerary, *, timestamp: datetime | None = None
    ) -> None:
        """Route the cargo along *itinerary*."""
        self.trigger_event(
            self.RouteAssigned,
            route=_itinerary(itinerary),
            timestamp=self._stamp(timestamp),
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
        timestamp = self._stamp(timestamp)
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

    def _stamp(self, timestamp: datetime | None) -> datetime:
        # The next event's time: checked, and never before the cargo's last event, so
        # that "the cargo at T" is its state after its last event by T, a range of the
        # timestamp index.
        stamped = _timestamp(timestamp) or datetime_now_with_tzinfo()
        if stamped < self.modified_on:
            msg = (
                f"The timestamp {stamped.isoformat()} goes back before the cargo's "
                f"last event, at {self.modified_on.isoformat()}: a cargo's events come "
                "in the order they happened."
            )
            raise ValueError(msg)
        return stamped

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
            cargo._estimated_time_of_arrival = _arrival_estimate(self.timestamp)
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
