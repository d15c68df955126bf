"""Where the events and the instant fall on the timeline's SVG strip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase

from cargotime.timeline import Entry, Span
from cargotime.timeline_strip import build_strip

START = datetime(2024, 3, 1, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)


def entry(version: int, at: datetime) -> Entry:
    return Entry(version, at, "DestinationChanged", "Destination changed")


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
