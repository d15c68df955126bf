"""Hypothesis strategies for cargo histories: misdirection, rerouting, claims."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from cargotime.domain import (
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    Itinerary,
    Leg,
    Location,
)

ROUTES = [route for routes in REGISTERED_ROUTES.values() for route in routes]
# A route through Rotterdam, so that cargos handled there on V1 end up misdirected.
DETOUR = Itinerary(
    "HONGKONG",
    "AUMEL",
    (Leg("HONGKONG", "NLRTM", "V5"), Leg("NLRTM", "AUMEL", "V6")),
)
commands = st.one_of(
    st.tuples(st.just("destination"), st.sampled_from(Location)),
    st.tuples(st.just("route"), st.sampled_from([*ROUTES, DETOUR])),
    st.tuples(
        st.just("handle"),
        st.sampled_from([None, "V1", "V2", "V3", "V4", "V5", "V6"]),
        st.sampled_from(Location),
        st.sampled_from(HandlingActivity),
    ),
)
# How the commands reach the store: one save each, or several in one save.
saves = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6)
pauses = st.sampled_from([timedelta(0), timedelta(minutes=7), timedelta(days=3)])


def apply_command(cargo: Cargo, command: tuple[Any, ...], timestamp: Any) -> bool:
    name, *arguments = command
    try:
        if name == "destination":
            cargo.change_destination(arguments[0], timestamp=timestamp)
        elif name == "route":
            cargo.assign_route(arguments[0], timestamp=timestamp)
        else:
            cargo.register_handling_event(*arguments, timestamp=timestamp)
    except ValueError:
        return False  # Refused by the domain: nothing was triggered.
    return True
