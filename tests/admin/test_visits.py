"""Rebuilding a cargo at an instant or a version, and comparing two instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from cargotime.admin.display import cargo_fields
from cargotime.admin.visits import (
    NotYetBooked,
    UnknownCargo,
    UnknownVersion,
    Visit,
    compare,
    field_sources,
    read_visit,
)
from cargotime.application import SearchableTimestampsApplication
from cargotime.cargo_states import STATE_COLUMNS
from cargotime.domain import REGISTERED_ROUTES, Location
from cargotime.models import EventTimestamp
from tests.admin.reference_reads import read_page, require_span, visit
from tests.cargos import (
    DEADLINE,
    HONGKONG_STOCKHOLM,
    book_long_history,
    book_voyage,
)
from tests.helpers import LOAD, RECEIVE, START, UNLOAD, ManualClock

HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)
# Every field of the page, the itinerary too.
FIELD_KEYS = (
    *(column for column in STATE_COLUMNS if column != "route"),
    "itinerary",
    "next_expected_activity",
)


def shown(
    app: SearchableTimestampsApplication, tracking_id: UUID, **kwargs: Any
) -> Visit:
    """Return the visit as the admin's time travel reads it, without its page."""
    return read_visit(app, tracking_id, **kwargs)[0]


class TestTimeTravel(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.tracking_id = book_voyage(self.app, self.clock)

    def test_visits_the_cargo_at_an_instant(self) -> None:
        instant = START + 4 * HOUR + 30 * timedelta(minutes=1)
        seen = shown(self.app, self.tracking_id, instant=instant)
        assert seen.cargo.version == 5
        assert seen.instant == instant
        assert (seen.event.version, seen.event.timestamp) == (5, START + 4 * HOUR)
        assert seen.event.phrase == "Unloaded at New York (NEWYORK) from voyage V1"
        assert seen.event.title == "Handling: unloaded"
        assert {change.key for change in seen.changes} == {
            "transport_status",
            "next_expected_activity",
            "last_known_location",
            "current_voyage_number",
        }
        assert (seen.span.first_version, seen.span.last_version) == (1, 8)

    def test_visits_the_cargo_at_a_version(self) -> None:
        seen = shown(self.app, self.tracking_id, version=2)
        assert seen.cargo.version == 2
        assert seen.instant == START + HOUR
        assert seen.cargo.routing_status == "ROUTED"

    def test_refuses_an_unknown_cargo_an_early_instant_and_a_missing_version(
        self,
    ) -> None:
        with self.assertRaisesMessage(UnknownCargo, "No cargo has the tracking ID"):
            shown(self.app, uuid4(), instant=START)
        with self.assertRaises(NotYetBooked) as raised:
            shown(self.app, self.tracking_id, instant=START - MICROSECOND)
        assert raised.exception.span.first_timestamp == START
        for version in (0, 9):
            with self.assertRaisesMessage(UnknownVersion, "runs from version 1 to 8"):
                shown(self.app, self.tracking_id, version=version)

    def test_compares_two_instants_either_way_round(self) -> None:
        seen = shown(self.app, self.tracking_id, version=3)
        forward = compare(self.app, seen, START + 7 * HOUR)
        backward = compare(
            self.app, shown(self.app, self.tracking_id, version=8), START + 2 * HOUR
        )
        for comparison in (forward, backward):
            assert (comparison.earlier_version, comparison.later_version) == (3, 8)
            assert [e.version for e in comparison.events.entries] == [4, 5, 6, 7, 8]
            changes = {c.key: (c.before, c.after) for c in comparison.changes}
            assert changes["transport_status"] == ("In port", "Claimed")

    def test_compares_with_before_the_booking(self) -> None:
        seen = shown(self.app, self.tracking_id, version=1)
        comparison = compare(self.app, seen, START - HOUR)
        assert comparison.earlier_version is None
        assert [e.version for e in comparison.events.entries] == [1]
        assert comparison.changes[0].key == "origin"

    def test_never_writes(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            seen = shown(self.app, self.tracking_id, instant=START + 3 * HOUR)
            compare(self.app, seen, START)
        statements = {query["sql"].split()[0].upper() for query in queries}
        assert statements <= {"SELECT", "WITH"}, statements


class TestFieldSources(TestCase):
    """Each field's source: the event since which it has held its value."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        app, clock = self.app, self.clock
        # v1 booked for Stockholm; v2 to Melbourne; v3 back to Stockholm; v4 routed.
        self.tracking_id = tracking_id = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE
        )
        for destination in (Location.AUMEL, Location.STOCKHOLM):
            clock.advance()
            app.change_destination(tracking_id, destination)
        clock.advance()
        app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        # v5 received, v6 loaded onto V1, v7 unloaded in Tokyo, off the route.
        for voyage, location, activity in [
            (None, Location.HONGKONG, RECEIVE),
            ("V1", Location.HONGKONG, LOAD),
            ("V1", Location.TOKYO, UNLOAD),
        ]:
            clock.advance()
            app.register_handling_event(tracking_id, voyage, location, activity)
        # v8 rerouted from Tokyo; v9 loaded there onto V3.
        clock.advance()
        app.assign_route(tracking_id, REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0])
        clock.advance()
        app.register_handling_event(tracking_id, "V3", Location.TOKYO, LOAD)

    def sources(self, version: int) -> dict[str, int]:
        seen = shown(self.app, self.tracking_id, version=version)
        assert seen.cargo.version == version
        return {key: entry.version for key, entry in seen.sources.items()}

    def test_names_the_exact_version_for_every_field(self) -> None:
        booked = dict.fromkeys(FIELD_KEYS, 1)
        assert self.sources(1) == booked
        # Stockholm again at v3: it has been Stockholm since v3, not since v1.
        assert self.sources(3) == {**booked, "destination": 3}
        assert self.sources(7) == {
            **booked,
            "destination": 3,
            "routing_status": 4,
            "estimated_time_of_arrival": 4,
            "itinerary": 4,
            # In port at v5, on board at v6, in port again since v7.
            "transport_status": 7,
            "is_misdirected": 7,
            "last_known_location": 7,
            "current_voyage_number": 7,
            "next_expected_activity": 7,
        }
        assert self.sources(9) == {
            **booked,
            "destination": 3,
            # Routed since v4: the reroute left it routed.
            "routing_status": 4,
            "estimated_time_of_arrival": 8,
            "itinerary": 8,
            "is_misdirected": 8,
            "last_known_location": 7,
            "transport_status": 9,
            "current_voyage_number": 9,
            "next_expected_activity": 9,
        }

    def test_a_source_is_an_entry_of_the_timeline(self) -> None:
        seen = shown(self.app, self.tracking_id, version=9)
        source = seen.sources["destination"]
        assert (source.version, source.timestamp) == (3, START + 2 * HOUR)
        assert source.title == "Destination changed"
        assert source.phrase == "Destination changed to Stockholm (STOCKHOLM)"
        assert seen.sources["itinerary"].title == "Route assigned"
        assert seen.sources["transport_status"].title == "Handling: loaded"

    def test_costs_one_query_whatever_the_length_of_the_history(self) -> None:
        seen = shown(self.app, self.tracking_id, version=9, with_changes=False)
        assert seen.sources == {}
        for tracking_id in (
            book_long_history(self.app, ManualClock(), 3),
            book_long_history(self.app, ManualClock(), 100),
        ):
            cargo = self.app.get_cargo(tracking_id)
            span = require_span(self.app, tracking_id)
            with CaptureQueriesContext(connection) as queries:
                sources = field_sources(self.app, tracking_id, cargo, span)
            assert len(queries) == 1, [query["sql"] for query in queries]
            assert set(sources) == set(FIELD_KEYS)

    def test_rows_from_before_the_index_held_states_show_no_source(self) -> None:
        EventTimestamp.objects.filter(originator_version__lte=2).update(
            **dict.fromkeys(STATE_COLUMNS)
        )
        seen = shown(self.app, self.tracking_id, version=9)
        assert seen.sources == {}
        assert seen.cargo.version == 9


def seen_as(visit: Visit) -> tuple[Any, ...]:
    """Return what a visit shows, the cargo's fields in place of the cargo."""
    fields = [(field.key, field.value) for field in cargo_fields(visit.cargo)]
    return (
        visit.tracking_id,
        visit.cargo.version,
        fields,
        visit.instant,
        visit.span,
        visit.event,
        visit.changes,
        visit.sources,
    )


class TestOneStatementVisit(TestCase):
    """read_visit() answers as visit() and read_page() do, in one statement."""

    def setUp(self) -> None:
        self.clock = ManualClock()
        # Snapshots every 3 events: at versions 3 and 6 of the voyage's 8.
        self.app = SearchableTimestampsApplication(
            clock=self.clock, snapshot_interval=3
        )
        self.tracking_id = book_voyage(self.app, self.clock)

    def both(self, tracking_id: UUID, **kwargs: Any) -> None:
        paging = {key: kwargs.pop(key) for key in ("after", "before") if key in kwargs}
        size = kwargs.pop("size", 50)
        try:
            expected = visit(self.app, tracking_id, **kwargs)
        except Exception as error:  # noqa: BLE001
            with self.assertRaises(type(error)) as raised:
                read_visit(self.app, tracking_id, size=size, **paging, **kwargs)
            assert str(raised.exception) == str(error)
            if isinstance(error, NotYetBooked):
                assert isinstance(raised.exception, NotYetBooked)
                assert raised.exception.span == error.span
            return
        page = read_page(
            self.app,
            tracking_id,
            expected.span,
            around=expected.cargo.version,
            size=size,
            **paging,
        )
        with CaptureQueriesContext(connection) as queries:
            got, got_page = read_visit(
                self.app, tracking_id, size=size, **paging, **kwargs
            )
        # One statement; the page's field sources read one more.
        assert len(queries) == (2 if kwargs.get("with_changes", True) else 1)
        assert seen_as(got) == seen_as(expected)
        assert got_page == page
        # Without words up front, the same words when read.
        bare, bare_page = read_visit(
            self.app, tracking_id, size=size, words=False, **paging, **kwargs
        )
        assert [str(e.phrase) for e in bare_page.entries] == [
            e.phrase for e in page.entries
        ]
        # What the JSON reads, from the index and the topics, undecoded.
        assert [(e.version, e.timestamp, e.name) for e in bare_page.entries] == [
            (e.version, e.timestamp, e.name) for e in page.entries
        ]
        assert [str(e.title) for e in [bare.event, *bare_page.entries]] == [
            e.title for e in [expected.event, *page.entries]
        ]

    def test_every_version_with_and_without_the_page_s_reads(self) -> None:
        for version in range(0, 10):
            for with_changes in (True, False):
                with self.subTest(version=version, with_changes=with_changes):
                    self.both(
                        self.tracking_id, version=version, with_changes=with_changes
                    )

    def test_every_instant(self) -> None:
        instants = [START - MICROSECOND, START, START + MICROSECOND]
        for hours in range(1, 9):
            instants += [START + hours * HOUR - MICROSECOND, START + hours * HOUR]
        instants += [
            datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
            datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
            datetime.max.replace(tzinfo=UTC),
        ]
        for instant in instants:
            for with_changes in (True, False):
                with self.subTest(instant=instant, with_changes=with_changes):
                    self.both(
                        self.tracking_id, instant=instant, with_changes=with_changes
                    )

    def test_every_page(self) -> None:
        for version in (1, 4, 8):
            for paging in [
                {},
                {"after": 0},
                {"after": 2},
                {"after": 7},
                {"after": 8},
                {"before": 1},
                {"before": 2},
                {"before": 5},
                {"before": 9},
            ]:
                with self.subTest(version=version, paging=paging):
                    self.both(self.tracking_id, version=version, size=3, **paging)

    def test_an_event_without_its_index_row_is_named_from_the_event(self) -> None:
        # `timestamp_index check` reports such a row; the timeline still lists the
        # event, with the event's own timestamp and name.
        EventTimestamp.objects.filter(
            originator_id=self.tracking_id, originator_version__in=[2, 7]
        ).delete()
        for words in (True, False):
            with self.subTest(words=words):
                _, page = read_visit(
                    self.app,
                    self.tracking_id,
                    version=4,
                    with_changes=False,
                    words=words,
                )
                expected = read_page(
                    self.app,
                    self.tracking_id,
                    require_span(self.app, self.tracking_id),
                    around=4,
                )
                assert [
                    (e.version, e.timestamp, e.name, str(e.title)) for e in page.entries
                ] == [
                    (e.version, e.timestamp, e.name, e.title) for e in expected.entries
                ]

    def test_an_unknown_cargo(self) -> None:
        self.both(uuid4(), version=1)
        self.both(uuid4(), instant=START)

    def test_a_long_history_without_snapshots(self) -> None:
        self.app = SearchableTimestampsApplication(
            clock=self.clock, snapshot_interval=None
        )
        tracking_id = book_long_history(self.app, ManualClock(), 120)
        for version in (1, 2, 26, 27, 60, 94, 95, 120):
            with self.subTest(version=version):
                self.both(tracking_id, version=version)
        self.both(tracking_id, instant=START + 30 * timedelta(minutes=1))
