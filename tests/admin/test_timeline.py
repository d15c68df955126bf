"""A cargo's timeline: its extent and keyset pages of its events."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from django.db import connection
from django.test import SimpleTestCase, TestCase
from django.test.utils import CaptureQueriesContext

from cargotime.admin.timeline import Entry, Span, build_strip, read_between
from cargotime.application import SearchableTimestampsApplication
from cargotime.models import database_alias
from tests.admin.reference_reads import read_entry, read_page, read_span
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
        assert first.phrase == "Booked from Tokyo (TOKYO) to Stockholm (STOCKHOLM)"
        assert first.title == "Booked"
        assert second.phrase == "Destination changed to Hamburg (HAMBURG)"
        assert second.title == "Destination changed"

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
        assert entry.phrase == "Loaded at Hong Kong (HONGKONG) onto voyage V1"
        assert entry.title == "Handling: loaded"
        assert read_entry(self.app, tracking_id, 9) is None


HOUR = timedelta(hours=1)


def entry(version: int, at: datetime) -> Entry:
    return Entry(
        version,
        at,
        "DestinationChanged",
        "Destination changed to Melbourne (AUMEL)",
        "Destination changed",
    )


def link(version: int) -> str:
    return f"?version={version}"


class TestBuildStrip(SimpleTestCase):
    def test_places_events_by_time_between_the_margins(self) -> None:
        span = Span(1, START, 5, START + 4 * HOUR)
        entries = [entry(v, START + (v - 1) * HOUR) for v in range(1, 6)]
        strip = build_strip(
            span,
            entries,
            current=entries[1],
            instant=START + 90 * timedelta(minutes=1),
            link=link,
        )
        assert [(m.entry.version, m.x, m.current) for m in strip.marks] == [
            (1, "2.00%", False),
            (3, "50.00%", False),
            (4, "74.00%", False),
            (5, "98.00%", False),
            (2, "26.00%", True),
        ]
        assert strip.marks[-1].href == "?version=2"
        assert strip.instant_x == "38.00%"
        assert strip.instant_outside == ""
        assert (strip.band_x, strip.band_width) == ("1.00%", "98.00%")

    def test_marks_the_current_event_when_the_page_is_elsewhere(self) -> None:
        span = Span(1, START, 100, START + 99 * HOUR)
        later = [entry(v, START + (v - 1) * HOUR) for v in range(51, 101)]
        current = entry(10, START + 9 * HOUR)
        strip = build_strip(
            span, later, current=current, instant=current.timestamp, link=link
        )
        assert [m.entry.version for m in strip.marks if m.current] == [10]
        assert len(strip.marks) == 51
        # The band spans the page listed, not the current event.
        assert strip.band_x == "49.48%"

    def test_an_instant_after_the_last_event_stays_on_the_strip(self) -> None:
        span = Span(1, START, 2, START + HOUR)
        entries = [entry(1, START), entry(2, START + HOUR)]
        strip = build_strip(
            span, entries, current=entries[1], instant=START + 1000 * HOUR, link=link
        )
        assert strip.instant_x == "98.00%"
        assert strip.instant_outside == "after"

    def test_events_at_one_instant_spread_by_version(self) -> None:
        span = Span(1, START, 3, START)
        entries = [entry(v, START) for v in (1, 2, 3)]
        strip = build_strip(span, entries, current=entries[0], instant=START, link=link)
        assert sorted(m.x for m in strip.marks) == ["2.00%", "50.00%", "98.00%"]

    def test_a_single_event_sits_in_the_middle(self) -> None:
        span = Span(1, START, 1, START)
        only = entry(1, START)
        strip = build_strip(span, [only], current=only, instant=START, link=link)
        assert strip.marks[0].x == "50.00%"
