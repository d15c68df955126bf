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
    Cargo,
    Location,
)
from cargotime.models import EventTimestamp
from tests.helpers import START
from tests.histories import apply_command, commands, pauses, saves

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


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
