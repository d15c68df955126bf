"""The index's state columns: always the cargo its events rebuild, at each version."""

from __future__ import annotations

import io
from datetime import timedelta
from itertools import islice
from typing import Any, cast
from uuid import UUID

from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from cargotime.application import SearchableTimestampsApplication
from cargotime.cargo_states import STATE_COLUMNS, state_values
from cargotime.domain import (
    REGISTERED_ROUTES,
    Cargo,
    HandlingActivity,
    Itinerary,
    Leg,
    Location,
)
from cargotime.models import EventTimestamp
from tests.helpers import START

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
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


def index_state(tracking_id: UUID) -> list[tuple[Any, ...]]:
    return list(
        EventTimestamp.objects.filter(originator_id=tracking_id)
        .order_by("originator_version")
        .values_list("originator_version", "timestamp", *STATE_COLUMNS)
    )


class CargoStateRowsTests(HypothesisTestCase):
    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication(snapshot_interval=3)

    def tearDown(self) -> None:
        self.app.close()

    @EXAMPLES
    @given(
        st.lists(st.tuples(commands, pauses), max_size=14),
        saves,
        st.booleans(),
    )
    def test_each_row_is_the_state_its_version_rebuilds(
        self,
        steps: list[tuple[tuple[Any, ...], timedelta]],
        batches: list[int],
        booking_alone: bool,
    ) -> None:
        at = START
        cargo: Cargo | None = Cargo.new_booking(
            Location.HONGKONG,
            Location.STOCKHOLM,
            START + timedelta(weeks=5),
            timestamp=at,
        )
        if booking_alone:
            self.app.save(cargo)
        assert cargo is not None
        tracking_id = cargo.id
        pending = iter(steps)
        for size in batches:
            # Each batch continues the stored cargo, as a command or an import would.
            if cargo is None:
                cargo = self.app.get_cargo(tracking_id)
            for command, pause in islice(pending, size):
                at += pause
                apply_command(cargo, command, at)
            self.app.save(cargo)
            cargo = None
        rows = index_state(tracking_id)
        last = self.app.get_cargo(tracking_id).version
        assert [row[0] for row in rows] == list(range(1, last + 1))
        for version, timestamp, *state in rows:
            rebuilt = cast(Cargo, self.app.repository.get(tracking_id, version=version))
            assert tuple(state) == state_values(rebuilt), version
            assert timestamp == rebuilt.modified_on
            travelled = self.app.get_cargo_at_timestamp(tracking_id, timestamp)
            if travelled.version == version:
                assert state_values(travelled) == tuple(state)

        # A rebuild from the stored events alone writes the very same rows.
        EventTimestamp.objects.filter(originator_id=tracking_id).delete()
        call_command("timestamp_index", "rebuild", stdout=io.StringIO())
        assert index_state(tracking_id) == rows
