"""The cargos staff pick from."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from cargotime.admin.picker import describe_cargos, find_cargos
from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import Location
from tests.cargos import DEADLINE
from tests.helpers import START, ManualClock


class TestCargoList(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.hongkong = self.app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        self.clock.advance()
        self.tokyo = self.app.book_new_cargo(Location.TOKYO, Location.HAMBURG, DEADLINE)
        self.clock.advance()
        self.app.change_destination(self.tokyo, Location.NEWYORK)
        self.clock.advance()
        self.app.change_destination(self.tokyo, Location.AUMEL)

    def found(self, query: str = "") -> list[object]:
        return [row.originator_id for row in find_cargos(self.app, query)]

    def test_lists_bookings_newest_first_with_their_event_counts(self) -> None:
        bookings = list(find_cargos(self.app))
        assert [row.originator_id for row in bookings] == [self.tokyo, self.hongkong]
        rows = describe_cargos(self.app, bookings)
        assert [
            (r.origin, r.destination, r.booked_destination, r.events) for r in rows
        ] == [
            ("TOKYO", "AUMEL", "HAMBURG", 3),
            ("HONGKONG", "STOCKHOLM", "STOCKHOLM", 1),
        ]
        assert rows[0].booked_at == START + timedelta(hours=1)

    def test_searches_prefixes_and_locations(self) -> None:
        assert self.found(str(self.tokyo)[:4]) == [self.tokyo]
        assert self.found(str(self.tokyo)[:13].upper()) == [self.tokyo]
        assert self.found("aumel") == [self.tokyo]
        # The destination it had before it was changed no longer matches.
        assert self.found("hamburg") == []
        assert self.found("HONG") == [self.hongkong]
        assert self.found("kyo") == [self.tokyo]
        assert self.found("  ") == [self.tokyo, self.hongkong]
        assert self.found("nowhere") == []

    def test_a_page_is_one_query_that_decodes_no_event(self) -> None:
        # The routes come from the index rows with the bookings: describing the page
        # reads nothing more, and no stored event is read at all.
        with CaptureQueriesContext(connection) as queries:
            describe_cargos(self.app, list(find_cargos(self.app, "aumel")))
        assert len(queries) == 1
        assert "stored_events" not in queries[0]["sql"]
