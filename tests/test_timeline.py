"""A cargo's timeline: its extent and keyset pages of its events."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from cargotime.application import SearchableTimestampsApplication
from cargotime.models import database_alias
from cargotime.timeline import (
    read_between,
    read_entry,
    read_page,
    read_span,
)
from tests.cargos import book_long_history, book_voyage
from tests.helpers import START, ManualClock

HOUR = timedelta(hours=1)


class TimelineTestCase(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)


class TestSpan(TimelineTestCase):
    def test_reads_the_first_and_the_last_event(self) -> None:
        tracking_id = book_voyage(self.app, self.clock)
        span = read_span(self.app, tracking_id)
        assert span is not None
        assert (span.first_version, span.first_timestamp) == (1, START)
        assert (span.last_version, span.last_timestamp) == (8, START + 7 * HOUR)

    def test_a_single_event_is_both_ends(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 1)
        span = read_span(self.app, tracking_id)
        assert span is not None
        assert span.first_version == span.last_version == 1

    def test_an_unknown_cargo_has_none(self) -> None:
        assert read_span(self.app, uuid4()) is None

    def test_reads_the_applications_database(self) -> None:
        assert database_alias(self.app) == "default"


class TestPages(TimelineTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.tracking_id = book_long_history(self.app, self.clock, 120)
        span = read_span(self.app, self.tracking_id)
        assert span is not None
        self.span = span

    def versions(self, **kwargs: int) -> tuple[list[int], int | None, int | None]:
        page = read_page(self.app, self.tracking_id, self.span, size=10, **kwargs)
        return [entry.version for entry in page.entries], page.before, page.after

    def test_centres_the_current_event(self) -> None:
        assert self.versions(around=60) == (list(range(55, 65)), 55, 64)

    def test_fills_the_page_at_either_end(self) -> None:
        assert self.versions(around=2) == (list(range(1, 11)), None, 10)
        assert self.versions(around=119) == (list(range(111, 121)), 111, None)

    def test_pages_after_and_before_a_version(self) -> None:
        assert self.versions(around=60, after=64) == (list(range(65, 75)), 65, 74)
        assert self.versions(around=60, before=55) == (list(range(45, 55)), 45, 54)
        assert self.versions(around=60, before=5) == ([1, 2, 3, 4], None, 4)
        assert self.versions(around=60, after=115) == (list(range(116, 121)), 116, None)

    def test_a_page_beyond_the_history_is_empty(self) -> None:
        assert self.versions(around=60, after=500) == ([], None, None)

    def test_entries_carry_what_staff_read(self) -> None:
        page = read_page(self.app, self.tracking_id, self.span, around=1, size=2)
        first, second = page.entries
        assert (first.version, first.timestamp, first.name) == (
            1,
            START,
            "BookingStarted",
        )
        assert first.phrase == "Booked from TOKYO to STOCKHOLM"
        assert second.phrase == "Destination changed to HAMBURG"

    def test_a_page_is_one_query_whatever_its_position(self) -> None:
        for kwargs in [
            {"around": 60},
            {"around": 60, "after": 100},
            {"around": 1, "before": 90},
        ]:
            with CaptureQueriesContext(connection) as queries:
                read_page(self.app, self.tracking_id, self.span, **kwargs)
            assert len(queries) == 1, kwargs
            assert "LIMIT" in queries[0]["sql"]


class TestBetweenAndOne(TimelineTestCase):
    def test_reads_the_events_between_two_versions(self) -> None:
        tracking_id = book_long_history(self.app, self.clock, 30)
        page = read_between(self.app, tracking_id, 3, 7, size=10)
        assert [entry.version for entry in page.entries] == [4, 5, 6, 7]
        assert page.after is None
        page = read_between(self.app, tracking_id, 0, 30, size=10)
        assert [entry.version for entry in page.entries] == list(range(1, 11))
        assert page.after == 10
        assert read_between(self.app, tracking_id, 5, 5).entries == []

    def test_reads_one_event(self) -> None:
        tracking_id = book_voyage(self.app, self.clock)
        entry = read_entry(self.app, tracking_id, 4)
        assert entry is not None
        assert entry.phrase == "Loaded at HONGKONG onto voyage V1"
        assert read_entry(self.app, tracking_id, 9) is None
