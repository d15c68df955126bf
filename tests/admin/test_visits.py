"""Rebuilding a cargo at an instant or a version, and comparing two instants."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from cargotime.admin.visits import (
    NotYetBooked,
    UnknownCargo,
    UnknownVersion,
    compare,
    visit,
)
from cargotime.application import SearchableTimestampsApplication
from tests.cargos import book_voyage
from tests.helpers import START, ManualClock

HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)


class TestTimeTravel(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.tracking_id = book_voyage(self.app, self.clock)

    def test_visits_the_cargo_at_an_instant(self) -> None:
        instant = START + 4 * HOUR + 30 * timedelta(minutes=1)
        seen = visit(self.app, self.tracking_id, instant=instant)
        assert seen.cargo.version == 5
        assert seen.instant == instant
        assert (seen.event.version, seen.event.timestamp) == (5, START + 4 * HOUR)
        assert seen.event.phrase == "Unloaded at NEWYORK from voyage V1"
        assert {change.key for change in seen.changes} == {
            "transport_status",
            "next_expected_activity",
            "last_known_location",
            "current_voyage_number",
        }
        assert (seen.span.first_version, seen.span.last_version) == (1, 8)

    def test_visits_the_cargo_at_a_version(self) -> None:
        seen = visit(self.app, self.tracking_id, version=2)
        assert seen.cargo.version == 2
        assert seen.instant == START + HOUR
        assert seen.cargo.routing_status == "ROUTED"

    def test_refuses_an_unknown_cargo_an_early_instant_and_a_missing_version(
        self,
    ) -> None:
        with self.assertRaisesMessage(UnknownCargo, "No cargo has the tracking ID"):
            visit(self.app, uuid4(), instant=START)
        with self.assertRaises(NotYetBooked) as raised:
            visit(self.app, self.tracking_id, instant=START - MICROSECOND)
        assert raised.exception.span.first_timestamp == START
        for version in (0, 9):
            with self.assertRaisesMessage(UnknownVersion, "runs from version 1 to 8"):
                visit(self.app, self.tracking_id, version=version)

    def test_compares_two_instants_either_way_round(self) -> None:
        seen = visit(self.app, self.tracking_id, version=3)
        forward = compare(self.app, seen, START + 7 * HOUR)
        backward = compare(
            self.app, visit(self.app, self.tracking_id, version=8), START + 2 * HOUR
        )
        for comparison in (forward, backward):
            assert (comparison.earlier_version, comparison.later_version) == (3, 8)
            assert [e.version for e in comparison.events.entries] == [4, 5, 6, 7, 8]
            changes = {c.key: (c.before, c.after) for c in comparison.changes}
            assert changes["transport_status"] == ("IN_PORT", "CLAIMED")

    def test_compares_with_before_the_booking(self) -> None:
        seen = visit(self.app, self.tracking_id, version=1)
        comparison = compare(self.app, seen, START - HOUR)
        assert comparison.earlier_version is None
        assert [e.version for e in comparison.events.entries] == [1]
        assert comparison.changes[0].key == "origin"

    def test_never_writes(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            seen = visit(self.app, self.tracking_id, instant=START + 3 * HOUR)
            compare(self.app, seen, START)
        statements = {query["sql"].split()[0].upper() for query in queries}
        assert statements <= {"SELECT", "WITH"}, statements
