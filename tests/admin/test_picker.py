"""The cargos staff pick from."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from cargotime.admin.picker import UNKNOWN_PLACE, describe_cargos, find_cargos
from cargotime.application import SearchableTimestampsApplication
from cargotime.cargo_states import STATE_COLUMNS
from cargotime.domain import HandlingActivity, Location
from cargotime.models import EventTimestamp
from tests.cargos import DEADLINE, ship
from tests.helpers import START, ManualClock

HOUR = timedelta(hours=1)


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
            ("Tokyo (TOKYO)", "Melbourne (AUMEL)", "Hamburg (HAMBURG)", 3),
            (
                "Hong Kong (HONGKONG)",
                "Stockholm (STOCKHOLM)",
                "Stockholm (STOCKHOLM)",
                1,
            ),
        ]
        assert [(r.transport_status, r.is_misdirected, r.is_late) for r in rows] == [
            ("Not received", False, False),
            ("Not received", False, False),
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
        # By the places' names too, as people know them.
        assert self.found("melbourne") == [self.tokyo]
        assert self.found("Hong Kong") == [self.hongkong]
        assert self.found("stock") == [self.hongkong]
        assert self.found("  ") == [self.tokyo, self.hongkong]
        assert self.found("nowhere") == []

    def test_a_page_is_one_query_that_decodes_no_event(self) -> None:
        # The routes come from the index rows with the bookings: describing the page
        # reads nothing more, and no stored event is read at all.
        with CaptureQueriesContext(connection) as queries:
            describe_cargos(self.app, list(find_cargos(self.app, "aumel")))
        assert len(queries) == 1
        assert "stored_events" not in queries[0]["sql"]


class TestStatusNow(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)

    def rows(self, query: str = "") -> dict[object, object]:
        return {
            row.tracking_id: (row.transport_status, row.is_misdirected, row.is_late)
            for row in describe_cargos(self.app, find_cargos(self.app, query))
        }

    def test_shows_each_cargos_latest_status_and_what_needs_a_look(self) -> None:
        on_time = ship(self.app, 2, clock=self.clock)
        # Routed an hour after booking, due a week later: past a deadline of a day.
        late = ship(self.app, 1, clock=self.clock, deadline=self.clock.now + HOUR)
        misdirected = ship(self.app, 2, clock=self.clock)
        self.app.register_handling_event(
            misdirected, "V1", Location.TOKYO, HandlingActivity.UNLOAD
        )
        claimed = ship(self.app, clock=self.clock)
        assert self.rows() == {
            on_time: ("On board carrier", False, False),
            late: ("In port", False, True),
            misdirected: ("In port", True, False),
            claimed: ("Claimed", False, False),
        }

    def test_a_row_from_before_the_index_held_states_shows_no_status(self) -> None:
        tracking_id = ship(self.app, 2, clock=self.clock)
        EventTimestamp.objects.update(**dict.fromkeys(STATE_COLUMNS))
        [row] = describe_cargos(self.app, find_cargos(self.app))
        assert row.tracking_id == tracking_id
        assert (row.origin, row.destination, row.transport_status) == (
            UNKNOWN_PLACE,
            UNKNOWN_PLACE,
            None,
        )
        assert (row.is_misdirected, row.is_late) == (False, False)

    def test_the_route_reads_in_words_and_search_takes_names(self) -> None:
        rotterdam = self.app.book_new_cargo(Location.NLRTM, Location.USDAL, DEADLINE)
        [row] = describe_cargos(self.app, find_cargos(self.app, "rotterdam"))
        assert (row.tracking_id, row.origin, row.destination) == (
            rotterdam,
            "Rotterdam (NLRTM)",
            "Dallas (USDAL)",
        )
        for query in ("Rotterdam", "NLRTM", "nlrtm", "dallas", "usdal", "ROTT"):
            assert list(self.rows(query)) == [rotterdam], query
        assert self.rows("hong") == {}
