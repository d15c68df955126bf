"""Demo cargos: a dozen histories covering every path of the domain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from cargotime.domain import (
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    Itinerary,
    Location,
)

# Demo tracking IDs are derived from names, so that loading twice books nothing twice.
DEMO_NAMESPACE = UUID("6f1f7c1e-2a43-4c55-9d0e-9a1c6b0c2d10")

RECEIVE = HandlingActivity.RECEIVE
LOAD = HandlingActivity.LOAD
UNLOAD = HandlingActivity.UNLOAD
CLAIM = HandlingActivity.CLAIM


def route(origin: Location, destination: Location) -> Itinerary:
    return REGISTERED_ROUTES[(origin.value, destination.value)][0]


HONGKONG_STOCKHOLM = route(Location.HONGKONG, Location.STOCKHOLM)
TOKYO_STOCKHOLM = route(Location.TOKYO, Location.STOCKHOLM)

# A step: hours after booking, then what happened.
Step = tuple[float, Callable[[Cargo, datetime], None]]


def destination(location: Location) -> Callable[[Cargo, datetime], None]:
    return lambda cargo, at: cargo.change_destination(location, timestamp=at)


def routed(itinerary: Itinerary) -> Callable[[Cargo, datetime], None]:
    return lambda cargo, at: cargo.assign_route(itinerary, timestamp=at)


def handled(
    voyage: str | None, location: Location, activity: HandlingActivity
) -> Callable[[Cargo, datetime], None]:
    return lambda cargo, at: cargo.register_handling_event(
        voyage, location, activity, timestamp=at
    )


# The Hong Kong to Stockholm voyage of the example, step by step.
VOYAGE_V1_V2: list[Step] = [
    (5, routed(HONGKONG_STOCKHOLM)),
    (30, handled(None, Location.HONGKONG, RECEIVE)),
    (52, handled("V1", Location.HONGKONG, LOAD)),
    (240, handled("V1", Location.NEWYORK, UNLOAD)),
    (262, handled("V2", Location.NEWYORK, LOAD)),
    (430, handled("V2", Location.STOCKHOLM, UNLOAD)),
    (455, handled(None, Location.STOCKHOLM, CLAIM)),
]

# Misdirected to Tokyo on V1, then rerouted through Hamburg.
MISDIRECTED: list[Step] = [
    (4, routed(HONGKONG_STOCKHOLM)),
    (26, handled(None, Location.HONGKONG, RECEIVE)),
    (49, handled("V1", Location.HONGKONG, LOAD)),
    (140, handled("V1", Location.TOKYO, UNLOAD)),
]
REROUTED: list[Step] = [
    *MISDIRECTED,
    (170, routed(TOKYO_STOCKHOLM)),
    (190, handled("V3", Location.TOKYO, LOAD)),
    (330, handled("V3", Location.HAMBURG, UNLOAD)),
    (350, handled("V4", Location.HAMBURG, LOAD)),
    (420, handled("V4", Location.STOCKHOLM, UNLOAD)),
    (446, handled(None, Location.STOCKHOLM, CLAIM)),
]


@dataclass(frozen=True)
class DemoCargo:
    name: str
    origin: Location
    destination: Location
    days_ago: float
    deadline_days: float
    steps: list[Step]

    @property
    def tracking_id(self) -> UUID:
        return uuid5(DEMO_NAMESPACE, self.name)

    def build(self, now: datetime) -> Cargo:
        """Return the cargo with its whole history pending, ending before *now*."""
        booked = now - timedelta(days=self.days_ago)
        cargo = Cargo.new_booking(
            self.origin,
            self.destination,
            booked + timedelta(days=self.deadline_days),
            tracking_id=self.tracking_id,
            timestamp=booked,
        )
        for hours, step in self.steps:
            at = booked + timedelta(hours=hours)
            assert at < now, f"{self.name}: step at {at} is not in the past"
            step(cargo, at)
        return cargo


DEMO_CARGOS = [
    DemoCargo("unrouted", Location.NLRTM, Location.USDAL, 2, 21, []),
    DemoCargo(
        "destination changed",
        Location.NLRTM,
        Location.USDAL,
        9,
        21,
        [(20, destination(Location.AUMEL))],
    ),
    DemoCargo(
        "destination changed, then routed",
        Location.HONGKONG,
        Location.NEWYORK,
        12,
        25,
        [(3, destination(Location.STOCKHOLM)), *VOYAGE_V1_V2[:3]],
    ),
    DemoCargo(
        "routed", Location.HONGKONG, Location.STOCKHOLM, 1.5, 20, VOYAGE_V1_V2[:1]
    ),
    DemoCargo(
        "received", Location.HONGKONG, Location.STOCKHOLM, 3, 20, VOYAGE_V1_V2[:2]
    ),
    DemoCargo(
        "on voyage V1", Location.HONGKONG, Location.STOCKHOLM, 6, 20, VOYAGE_V1_V2[:3]
    ),
    DemoCargo(
        "in New York", Location.HONGKONG, Location.STOCKHOLM, 11, 20, VOYAGE_V1_V2[:4]
    ),
    DemoCargo(
        "on voyage V2", Location.HONGKONG, Location.STOCKHOLM, 14, 20, VOYAGE_V1_V2[:5]
    ),
    DemoCargo(
        "arrived", Location.HONGKONG, Location.STOCKHOLM, 19, 21, VOYAGE_V1_V2[:6]
    ),
    DemoCargo("claimed", Location.HONGKONG, Location.STOCKHOLM, 30, 21, VOYAGE_V1_V2),
    DemoCargo("misdirected", Location.HONGKONG, Location.STOCKHOLM, 8, 21, MISDIRECTED),
    DemoCargo(
        "rerouted, in Hamburg",
        Location.HONGKONG,
        Location.STOCKHOLM,
        16,
        24,
        REROUTED[:7],
    ),
    DemoCargo(
        "rerouted and claimed",
        Location.HONGKONG,
        Location.STOCKHOLM,
        35,
        24,
        REROUTED,
    ),
]


def demo_cargos(now: datetime) -> Iterator[tuple[DemoCargo, Cargo]]:
    """Yield every demo cargo, built with a history that ends before *now*."""
    # On the minute, as a port's records would be; still before *now*.
    on_the_minute = now.replace(second=0, microsecond=0)
    for demo in DEMO_CARGOS:
        yield demo, demo.build(on_the_minute)
