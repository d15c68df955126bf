"""The fleet at an instant: every row equals time travel, and nothing else is there."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import fields
from datetime import datetime, timedelta
from itertools import islice
from typing import Any
from uuid import UUID

from django.core.management import call_command
from django.test import TestCase
from eventsourcing.application import AggregateNotFoundError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from cargotime.application import SearchableTimestampsApplication
from cargotime.cargo_states import route_text
from cargotime.domain import Cargo, Location
from cargotime.fleet import (
    FleetCargo,
    FleetFilters,
    compare_fleet,
    fleet_at,
    fleet_counts,
    iter_fleet,
    place_codes,
)
from cargotime.models import EventTimestamp
from tests.cargos import DEADLINE, ship
from tests.helpers import START, ManualClock
from tests.histories import apply_command, commands, pauses

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MICROSECOND = timedelta(microseconds=1)
# A few cargos, each a list of (command, pause); pauses of 0 tie timestamps.
histories = st.lists(
    st.tuples(
        st.sampled_from([timedelta(0), timedelta(minutes=30), timedelta(days=2)]),
        st.lists(st.tuples(commands, pauses), max_size=8),
        st.sampled_from(list(Location)),
    ),
    min_size=1,
    max_size=4,
)


def as_fleet_row(cargo: Cargo) -> dict[str, Any]:
    """Return what the fleet must say of *cargo*, as time travel rebuilt it."""
    location = cargo.last_known_location
    return {
        "tracking_id": cargo.id,
        "version": cargo.version,
        "last_event_at": cargo.modified_on,
        "origin": cargo.origin.value,
        "destination": cargo.destination.value,
        "arrival_deadline": cargo.arrival_deadline,
        "transport_status": cargo.transport_status,
        "routing_status": cargo.routing_status,
        "is_misdirected": cargo.is_misdirected,
        "last_known_location": location.value if location else None,
        "current_voyage_number": cargo.current_voyage_number,
        "estimated_time_of_arrival": cargo.estimated_time_of_arrival,
        "route": route_text(cargo.route),
    }


def fleet_row(cargo: FleetCargo) -> dict[str, Any]:
    row = {name: getattr(cargo, name) for name in FLEET_FIELDS}
    return row


# Every field of a fleet row but the booking time, which the cargo has as version 1.
FLEET_FIELDS = tuple(f.name for f in fields(FleetCargo) if f.name != "booked_at")


class FleetExactnessTests(HypothesisTestCase):
    """For any instant, the fleet is exactly the cargos time travel finds then."""

    def book(
        self, app: SearchableTimestampsApplication, plan: list[Any]
    ) -> tuple[list[UUID], list[datetime]]:
        at = START
        tracking_ids, moments = [], []
        for delay, steps, origin in plan:
            at += delay
            cargo = Cargo.new_booking(
                origin, Location.STOCKHOLM, START + timedelta(days=9), timestamp=at
            )
            moments.append(at)
            app.save(cargo)
            steps_left = iter(steps)
            # Two saves: the first few commands, then the rest, as separate saves.
            for size in (3, len(steps)):
                loaded = app.get_cargo(cargo.id)
                for command, pause in islice(steps_left, size):
                    at += pause
                    if apply_command(loaded, command, at):
                        moments.append(at)
                app.save(loaded)
            tracking_ids.append(cargo.id)
        return tracking_ids, moments

    def assert_exact(
        self,
        app: SearchableTimestampsApplication,
        tracking_ids: list[UUID],
        instant: datetime,
    ) -> None:
        fleet = {cargo.tracking_id: cargo for cargo in iter_fleet(instant, app=app)}
        expected = {}
        for tracking_id in tracking_ids:
            try:
                cargo = app.get_cargo_at_timestamp(tracking_id, instant)
            except AggregateNotFoundError:
                continue
            expected[tracking_id] = as_fleet_row(cargo)
        assert {k: fleet_row(v) for k, v in fleet.items()} == expected, instant
        counts = fleet_counts(instant, app=app)
        assert counts.count == len(fleet)
        assert counts.transport_status == dict(
            Counter(cargo.transport_status for cargo in fleet.values())
        )
        assert counts.routing_status == dict(
            Counter(cargo.routing_status for cargo in fleet.values())
        )
        assert counts.misdirected == sum(c.is_misdirected for c in fleet.values())
        assert counts.late == sum(c.is_late for c in fleet.values())
        # Each facet's option counts are the cargos a filter on it would keep.
        for status, n in counts.facets["transport_status"].items():
            kept = list(
                iter_fleet(
                    instant, app=app, filters=FleetFilters(transport_status=status)
                )
            )
            assert len(kept) == n
            assert all(cargo.transport_status == status for cargo in kept)

    @EXAMPLES
    @given(histories, st.booleans(), st.data())
    def test_the_fleet_at_any_instant_equals_time_travel(
        self, plan: list[Any], snapshots: bool, data: st.DataObject
    ) -> None:
        app = SearchableTimestampsApplication(
            snapshot_interval=2 if snapshots else None
        )
        self.addCleanup(app.close)
        tracking_ids, moments = self.book(app, plan)
        instants = {START - MICROSECOND, moments[-1] + timedelta(days=30)}
        for moment in moments:
            instants |= {moment - MICROSECOND, moment, moment + MICROSECOND}
        for instant in sorted(instants):
            self.assert_exact(app, tracking_ids, instant)

        # From the stored events alone, after a rebuild, the fleet is the same.
        picked = data.draw(st.sampled_from(sorted(instants)), label="instant")
        before = list(iter_fleet(picked, app=app))
        EventTimestamp.objects.all().delete()
        call_command("timestamp_index", "rebuild", stdout=io.StringIO())
        assert list(iter_fleet(picked, app=app)) == before
        self.assert_exact(app, tracking_ids, picked)

    @EXAMPLES
    @given(histories, st.data())
    def test_a_comparison_lists_exactly_the_cargos_that_changed(
        self, plan: list[Any], data: st.DataObject
    ) -> None:
        app = SearchableTimestampsApplication()
        self.addCleanup(app.close)
        _, moments = self.book(app, plan)
        choices = sorted({START - MICROSECOND, *moments})
        first = data.draw(st.sampled_from(choices), label="at")
        second = data.draw(st.sampled_from(choices), label="compare_at")
        comparison = compare_fleet(first, second, app=app, limit=1000)
        # Either way round, the same answer.
        assert compare_fleet(second, first, app=app, limit=1000) == comparison
        earlier, later = sorted([first, second])
        before = {c.tracking_id: c for c in iter_fleet(earlier, app=app)}
        changed = {}
        for cargo in iter_fleet(later, app=app):
            old = before.get(cargo.tracking_id)
            keys = ("transport_status", "last_known_location", "destination", "route")
            if old is None or any(getattr(old, k) != getattr(cargo, k) for k in keys):
                changed[cargo.tracking_id] = (
                    old.transport_status if old else None,
                    cargo.transport_status,
                )
        assert {c.after.tracking_id for c in comparison.changes} == set(changed)
        assert comparison.count == len(changed)
        assert comparison.transitions == dict(Counter(changed.values()))
        # A filter keeps the cargos as they were at the later instant.
        in_port = FleetFilters(transport_status="IN_PORT")
        filtered = compare_fleet(first, second, app=app, filters=in_port, limit=1000)
        assert {c.after.tracking_id for c in filtered.changes} == {
            tracking_id for tracking_id, (_, now) in changed.items() if now == "IN_PORT"
        }


class FleetTests(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)

    def test_pages_follow_one_another_newest_booking_first(self) -> None:
        booked = [self.app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)]
        for _ in range(6):
            self.clock.advance()
            booked.append(
                self.app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
            )
        seen, after = [], None
        while True:
            page = fleet_at(self.clock.now, app=self.app, limit=3, after=after)
            seen += [cargo.tracking_id for cargo in page.cargos]
            if page.next is None:
                break
            after = page.next
        assert seen == booked[::-1]

    def test_filters_keep_what_they_name(self) -> None:
        here = ship(self.app, 1, clock=self.clock)  # received in Hong Kong
        self.clock.advance()
        there = ship(self.app, 2, clock=self.clock)  # on board V1
        now = self.clock.now

        def kept(**filters: Any) -> set[UUID]:
            chosen = FleetFilters(**filters)
            return {
                c.tracking_id for c in iter_fleet(now, app=self.app, filters=chosen)
            }

        assert kept(transport_status="IN_PORT") == {here}
        assert kept(transport_status="ONBOARD_CARRIER", voyage="V1") == {there}
        assert kept(location="HONGKONG") == {here, there}
        assert kept(destination="STOCKHOLM", misdirected=False, late=False) == {
            here,
            there,
        }
        assert kept(misdirected=True) == set()
        assert kept(q=str(there)[:6]) == {there}
        assert kept(q="hong") == {here, there}
        assert kept(q="nowhere") == set()

    def test_a_cargo_past_its_deadline_is_late(self) -> None:
        tracking_id = ship(self.app, 0, clock=self.clock, deadline=START)
        (cargo,) = iter_fleet(self.clock.now, app=self.app)
        assert cargo.tracking_id == tracking_id
        assert cargo.is_late
        assert fleet_counts(self.clock.now, app=self.app).late == 1
        late = FleetFilters(late=True)
        assert [
            c.tracking_id
            for c in iter_fleet(self.clock.now, app=self.app, filters=late)
        ] == [tracking_id]

    def test_an_instant_is_checked_where_it_enters(self) -> None:
        with self.assertRaisesMessage(ValueError, "timezone-aware"):
            fleet_at(datetime(2024, 1, 1), app=self.app)  # noqa: DTZ001
        with self.assertRaisesMessage(ValueError, "outside the range"):
            fleet_counts(datetime.max.replace(tzinfo=START.tzinfo), app=self.app)

    def test_places_match_by_code_or_name(self) -> None:
        assert place_codes("hong") == ["HONGKONG"]
        assert place_codes("NLR") == ["NLRTM"]
        assert place_codes("") == []

    def test_the_queries_stay_flat_with_the_fleet(self) -> None:
        for _ in range(3):
            ship(self.app, 2, clock=self.clock)
        with self.assertNumQueries(1):
            fleet_at(self.clock.now, app=self.app)
        with self.assertNumQueries(1):
            fleet_counts(self.clock.now, app=self.app)
        with self.assertNumQueries(1):
            compare_fleet(self.clock.now, START, app=self.app)
        for _ in range(20):
            ship(self.app, 4, clock=self.clock)
        with self.assertNumQueries(1):
            fleet_at(self.clock.now, app=self.app)
        with self.assertNumQueries(1):
            fleet_counts(self.clock.now, app=self.app)
        with self.assertNumQueries(1):
            compare_fleet(self.clock.now, START, app=self.app)
