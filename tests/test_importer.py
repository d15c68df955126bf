from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID, uuid4

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.utils import translation
from eventsourcing_django.models import StoredEventRecord

from cargotime.application import SearchableTimestampsApplication
from cargotime.apps import get_application
from cargotime.domain import HandlingActivity, Location
from cargotime.importer import (
    HistoryError,
    import_history,
    parse_event,
    read_json_lines,
)
from cargotime.models import EventTimestamp

T0 = datetime(2023, 9, 4, 6, 30, tzinfo=UTC)
ROUTE = {
    "origin": "HONGKONG",
    "destination": "STOCKHOLM",
    "legs": [
        {"origin": "HONGKONG", "destination": "NEWYORK", "voyage_number": "V1"},
        {"origin": "NEWYORK", "destination": "STOCKHOLM", "voyage_number": "V2"},
    ],
}


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def booking(tracking_id: UUID, hours: float = 0) -> dict[str, Any]:
    return {
        "tracking_id": str(tracking_id),
        "timestamp": at(hours),
        "type": "BookingStarted",
        "origin": "HONGKONG",
        "destination": "STOCKHOLM",
        "arrival_deadline": "2023-10-15T00:00:00+00:00",
    }


def handling(
    tracking_id: UUID, hours: float, activity: str, location: str, voyage: str | None
) -> dict[str, Any]:
    return {
        "tracking_id": str(tracking_id),
        "timestamp": at(hours),
        "type": "HandlingEventRegistered",
        "handling_activity": activity,
        "location": location,
        "voyage_number": voyage,
    }


def routed(tracking_id: UUID, hours: float) -> dict[str, Any]:
    return {
        "tracking_id": str(tracking_id),
        "timestamp": at(hours),
        "type": "RouteAssigned",
        "route": ROUTE,
    }


class ImportTestCase(TestCase):
    def setUp(self) -> None:
        # The command speaks the active language; a request in German leaves German
        # active in the thread after it.
        self.enterContext(translation.override("en"))
        self.first, self.second = UUID(int=1), UUID(int=2)
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)

    def write(self, *events: dict[str, Any] | str) -> str:
        path = self.folder / f"history-{uuid4().hex}.jsonl"
        lines = [e if isinstance(e, str) else json.dumps(e) for e in events]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    def run_import(self, path: str) -> str:
        out = io.StringIO()
        call_command("import_cargo_history", path, stdout=out)
        return out.getvalue()

    def history(self) -> list[dict[str, Any]]:
        first, second = self.first, self.second
        return [
            booking(first, 0),
            booking(second, 1),
            routed(first, 2),
            {
                "tracking_id": str(second),
                "timestamp": at(3),
                "type": "DestinationChanged",
                "destination": "NEWYORK",
            },
            handling(first, 24, "RECEIVE", "HONGKONG", None),
            handling(first, 30, "LOAD", "HONGKONG", "V1"),
            # Two events at one instant are fine: the later line is the later version.
            handling(first, 30, "UNLOAD", "NEWYORK", "V1"),
        ]


class ImportTests(ImportTestCase):
    def test_imported_events_keep_their_original_timestamps(self) -> None:
        output = self.run_import(self.write(*self.history()))
        assert "Imported 7 events: booked 2 new cargos and continued 0." in output
        app = get_application()
        cargo = app.get_cargo(self.first)
        assert cargo.version == 5
        assert cargo.created_on == T0
        assert cargo.modified_on == T0 + timedelta(hours=30)
        rows = EventTimestamp.objects.filter(originator_id=self.first)
        assert sorted(rows.values_list("originator_version", "timestamp")) == [
            (1, T0),
            (2, T0 + timedelta(hours=2)),
            (3, T0 + timedelta(hours=24)),
            (4, T0 + timedelta(hours=30)),
            (5, T0 + timedelta(hours=30)),
        ]
        routed_then = app.get_cargo_at_timestamp(self.first, T0 + timedelta(hours=23))
        assert routed_then.routing_status == "ROUTED"
        assert routed_then.transport_status == "NOT_RECEIVED"
        assert routed_then.estimated_time_of_arrival == T0 + timedelta(hours=2, weeks=1)
        assert app.get_cargo(self.second).destination is Location.NEWYORK
        call_command("timestamp_index", "check", stdout=io.StringIO())

    def test_an_import_continues_a_stored_cargo(self) -> None:
        self.run_import(self.write(booking(self.first, 0), routed(self.first, 1)))
        output = self.run_import(
            self.write(handling(self.first, 5, "RECEIVE", "HONGKONG", None))
        )
        assert "booked 0 new cargos and continued 1" in output
        cargo = get_application().get_cargo(self.first)
        assert cargo.version == 3
        assert cargo.next_expected_activity == (
            HandlingActivity.LOAD,
            Location.HONGKONG,
            "V1",
        )

    def test_timestamps_going_back_within_a_cargo_import_nothing(self) -> None:
        events = self.history()
        events.append(handling(self.first, 29, "LOAD", "NEWYORK", "V2"))
        with self.assertRaisesMessage(
            CommandError,
            f"line 8: the timestamp {at(29)} of cargo {self.first} goes back before "
            f"line 7 ({at(30)})",
        ) as raised:
            self.run_import(self.write(*events))
        assert str(raised.exception).endswith("Nothing was imported.")
        assert not StoredEventRecord.objects.exists()
        assert not EventTimestamp.objects.exists()

    def test_going_back_before_a_stored_event_imports_nothing(self) -> None:
        self.run_import(self.write(booking(self.first, 10)))
        with self.assertRaisesMessage(CommandError, "line 2: the timestamp") as raised:
            self.run_import(self.write(booking(self.second, 0), routed(self.first, 9)))
        assert "goes back before its last stored event" in str(raised.exception)
        assert not StoredEventRecord.objects.filter(originator_id=self.second).exists()

    def test_a_failure_while_saving_rolls_back_every_cargo(self) -> None:
        # A stray index row makes the database refuse the second cargo's events.
        EventTimestamp.objects.create(
            application_name=get_application().name,
            originator_id=self.second,
            originator_version=2,
            timestamp=T0,
        )
        with self.assertRaisesMessage(CommandError, "the database refused the events"):
            self.run_import(self.write(*self.history()))
        assert not StoredEventRecord.objects.exists()
        assert EventTimestamp.objects.count() == 1

    def test_bad_lines_are_named_and_nothing_is_imported(self) -> None:
        first = self.first
        good = booking(self.second, 0)
        naive = {**booking(first), "timestamp": "2023-09-04T06:30:00"}
        future = {**booking(first), "timestamp": "2999-01-01T00:00:00+00:00"}
        cases: list[tuple[dict[str, Any] | str, str]] = [
            ("{not json", "line 2: not valid JSON"),
            ("[1, 2]", "line 2: expected a JSON object, not list"),
            (
                {**booking(first), "type": "Teleported"},
                "unknown event type 'Teleported'",
            ),
            (
                {"tracking_id": str(first), "type": "BookingStarted"},
                "needs arrival_dead",
            ),
            ({**booking(first), "colour": "red"}, "BookingStarted has no field colour"),
            ({**booking(first), "tracking_id": "cargo-7"}, "'cargo-7' is no UUID"),
            (naive, "has no UTC offset; add one, such as +00:00"),
            ({**booking(first), "timestamp": "yesterday"}, "not an ISO 8601 datetime"),
            ({**booking(first), "origin": "PARIS"}, "unknown location 'PARIS'"),
            (
                future,
                "line 2: the timestamp 2999-01-01T00:00:00+00:00 is in the future",
            ),
            (routed(first, 1), "its first event must be BookingStarted"),
            (booking(self.second, 1), "is booked a second time"),
            (
                handling(self.second, 1, "RECEIVE", "HONGKONG", None),
                "line 2: The cargo has no route yet",
            ),
            (
                handling(self.second, 1, "FLY", "HONGKONG", None),
                "unknown handling_activity 'FLY'",
            ),
            ({**routed(self.second, 1), "route": {"legs": 3}}, "route must be {origin"),
        ]
        for line, message in cases:
            with (
                self.subTest(message=message),
                self.assertRaisesMessage(CommandError, message),
            ):
                self.run_import(self.write(good, line))
            assert not StoredEventRecord.objects.exists()

    def test_a_stored_cargo_cannot_be_booked_again(self) -> None:
        path = self.write(booking(self.first))
        self.run_import(path)
        with self.assertRaisesMessage(CommandError, "line 1: cargo"):
            self.run_import(path)
        assert StoredEventRecord.objects.count() == 1

    def test_standard_input_and_a_missing_file(self) -> None:
        stdin = io.StringIO(json.dumps(booking(self.first)) + "\n\n")
        with mock.patch("sys.stdin", stdin):
            assert "Imported 1 event:" in self.run_import("-")
        with self.assertRaisesMessage(CommandError, "Cannot read /no/such/file"):
            self.run_import("/no/such/file")


class ImporterApiTests(TestCase):
    def test_the_python_api_takes_parsed_events(self) -> None:
        tracking_id = uuid4()
        app = SearchableTimestampsApplication()
        self.addCleanup(app.close)
        events = read_json_lines([json.dumps(booking(tracking_id)), ""])
        events.append(parse_event(3, routed(tracking_id, 1)))
        summary = import_history(app, events)
        assert summary.booked == 1
        assert summary.events == 2
        assert app.get_cargo(tracking_id).routing_status == "ROUTED"

    def test_history_errors_carry_their_line(self) -> None:
        with self.assertRaises(HistoryError) as raised:
            read_json_lines(["", "{}"])
        assert raised.exception.line == 2
        assert str(raised.exception).startswith("line 2: unknown event type None")


# ROUTE's legs, typed for the tests that change them.
LEGS: list[dict[str, Any]] = json.loads(json.dumps(ROUTE["legs"]))


class EdgeOfTimeImportTests(ImportTestCase):
    """Defect 3: every datetime of an import passes the domain's one check."""

    def assert_refused(self, line: dict[str, Any] | str, message: str) -> None:
        with self.assertRaisesMessage(CommandError, message) as raised:
            self.run_import(self.write(booking(self.second, 0), line))
        assert str(raised.exception).endswith("Nothing was imported.")
        assert not StoredEventRecord.objects.exists()
        assert not EventTimestamp.objects.exists()

    def test_instants_no_page_zone_or_database_can_show_are_refused(self) -> None:
        window = (
            "is outside the range of dates and times cargotime accepts: from "
            "0002-01-01T00:00:00+00:00 up to, but not including, "
            "9998-01-01T00:00:00+00:00 (UTC)"
        )
        for timestamp in [
            # Year 0 in UTC: was stored, then broke every page on PostgreSQL, and
            # was an OverflowError traceback on SQLite.
            "0001-01-01T00:00:00+01:00",
            # Year 1: was stored, then broke the pages in America/New_York.
            "0001-01-01T00:00:00+00:00",
            "0001-12-31T23:59:59.999999+00:00",
            # Still year 1 in UTC, though year 2 here.
            "0002-01-01T08:59:00+09:00",
        ]:
            with self.subTest(timestamp=timestamp):
                self.assert_refused(
                    {**booking(self.first), "timestamp": timestamp},
                    f"line 2: The timestamp {timestamp} {window}",
                )
        for deadline in [
            # Was a raw ValueError traceback: year 10000 in UTC.
            "9999-12-31T23:59:59-14:00",
            "9998-01-01T00:00:00+00:00",
            "0001-06-01T00:00:00+00:00",
        ]:
            with self.subTest(deadline=deadline):
                self.assert_refused(
                    {**booking(self.first), "arrival_deadline": deadline},
                    f"line 2: The arrival_deadline {deadline} {window}",
                )

    def test_instants_that_are_not_iso_text_with_an_offset_are_refused(self) -> None:
        for value, message in [
            (20230904, "timestamp 20230904 is not an ISO 8601 datetime in a string"),
            (None, "timestamp None is not an ISO 8601 datetime in a string"),
            (
                ["2023-09-04T06:30Z"],
                "timestamp ['2023-09-04T06:30Z'] is not an ISO 8601 datetime in a",
            ),
            ("2023-09-04", "The timestamp 2023-09-04T00:00:00 has no UTC offset"),
        ]:
            with self.subTest(value=value):
                self.assert_refused(
                    {**booking(self.first), "timestamp": value}, f"line 2: {message}"
                )
        self.assert_refused(
            {**booking(self.first), "arrival_deadline": 1.5},
            "line 2: arrival_deadline 1.5 is not an ISO 8601 datetime in a string",
        )

    def test_a_line_nested_too_deeply_is_refused_by_its_number(self) -> None:
        # Was a raw RecursionError traceback. Deeper nesting makes a line longer
        # than the import reads (HostileInputTests).
        for line in ["[" * 5_000 + "]" * 5_000, '{"a": ' * 1_600 + "1"]:
            self.assert_refused(line, "line 2: not an event: its JSON is nested too")
        with self.assertRaisesMessage(HistoryError, "line 3: not an event"):
            read_json_lines(["", json.dumps(booking(self.first)), "[" * 10_000])

    def test_the_earliest_and_latest_instants_accepted_import(self) -> None:
        line = {
            **booking(self.first),
            "timestamp": "0002-01-01T09:18:59+09:18:59",
            "arrival_deadline": "9997-12-31T23:59:59.999999+00:00",
        }
        self.run_import(self.write(line))
        cargo = get_application().get_cargo(self.first)
        assert cargo.created_on.isoformat() == "0002-01-01T00:00:00+00:00"
        assert cargo.arrival_deadline.isoformat() == "9997-12-31T23:59:59.999999+00:00"
        [row] = EventTimestamp.objects.all()
        assert row.timestamp == datetime(2, 1, 1, tzinfo=UTC)

    def test_offsets_are_kept_as_the_instants_they_name_in_utc(self) -> None:
        line = {
            **booking(self.first),
            "timestamp": "2023-09-04T08:30:00+02:00",
            "arrival_deadline": "2023-10-15T00:00:00-04:00",
        }
        self.run_import(self.write(line, {**routed(self.first, 1)}))
        cargo = get_application().get_cargo(self.first)
        assert cargo.created_on.isoformat() == "2023-09-04T06:30:00+00:00"
        assert cargo.arrival_deadline.isoformat() == "2023-10-15T04:00:00+00:00"
        eta = cargo.estimated_time_of_arrival
        assert eta is not None
        assert eta.isoformat() == "2023-09-11T07:30:00+00:00"


class CoercionImportTests(ImportTestCase):
    """Defect 4: values are taken as they are, or refused; never made into text."""

    def assert_refused(self, line: dict[str, Any], message: str) -> None:
        path = self.write(booking(self.second, 0), routed(self.second, 1), line)
        with self.assertRaisesMessage(CommandError, message):
            self.run_import(path)
        assert not StoredEventRecord.objects.exists()

    def route_with(self, **leg: Any) -> dict[str, Any]:
        route = {**ROUTE, "legs": [{**LEGS[0], **leg}, LEGS[1]]}
        return {**routed(self.second, 2), "route": route}

    def test_a_leg_needs_a_voyage_number_that_is_text(self) -> None:
        # null was stored as the text "None", {"x": [1, 2]} as "{'x': [1, 2]}".
        for voyage in [None, {"x": [1, 2]}, "", "  ", 7, ["V1"], True]:
            with self.subTest(voyage=voyage):
                self.assert_refused(
                    self.route_with(voyage_number=voyage),
                    f"line 3: A leg's voyage number is text, not {voyage!r}.",
                )

    def test_a_handling_event_needs_a_voyage_number_that_is_text_or_null(
        self,
    ) -> None:
        for voyage in ["", {"x": [1, 2]}, 7, ["V1"]]:
            with self.subTest(voyage=voyage):
                self.assert_refused(
                    handling(self.second, 3, "RECEIVE", "HONGKONG", voyage),  # type: ignore[arg-type]
                    f"line 3: A voyage number is text or None, not {voyage!r}.",
                )

    def test_locations_and_activities_are_codes_not_what_str_makes_of_them(
        self,
    ) -> None:
        listed = ["HONGKONG"]
        for line, message in [
            (
                self.route_with(origin=listed),
                "line 3: ['HONGKONG'] is not a location",
            ),
            (
                {**self.route_with(), "route": {**ROUTE, "origin": listed}},
                "line 3: ['HONGKONG'] is not a location",
            ),
            (
                handling(self.second, 3, "RECEIVE", listed, None),  # type: ignore[arg-type]
                "line 3: unknown location ['HONGKONG']",
            ),
            (
                handling(self.second, 3, ["RECEIVE"], "HONGKONG", None),  # type: ignore[arg-type]
                "line 3: unknown handling_activity ['RECEIVE']",
            ),
            (
                {
                    "tracking_id": str(self.second),
                    "timestamp": at(3),
                    "type": "DestinationChanged",
                    "destination": {"code": "HAMBURG"},
                },
                "line 3: unknown location {'code': 'HAMBURG'}",
            ),
            (
                {**booking(self.first, 3), "origin": listed},
                "line 3: unknown location ['HONGKONG']",
            ),
        ]:
            with self.subTest(message=message):
                self.assert_refused(line, message)

    def test_a_tracking_id_is_the_text_of_a_uuid(self) -> None:
        for value in [1, None, [str(self.first)], {"id": str(self.first)}]:
            with self.subTest(value=value):
                self.assert_refused(
                    {**booking(self.first, 3), "tracking_id": value},
                    f"line 3: tracking_id {value!r} is no UUID",
                )

    def test_a_route_has_exactly_its_fields(self) -> None:
        for route in [
            {**ROUTE, "colour": "red"},
            {**ROUTE, "legs": [{**LEGS[0], "ship": "Ever Given"}]},
            {**ROUTE, "legs": {"0": LEGS[0]}},
            {**ROUTE, "legs": "HONGKONG"},
            [ROUTE],
        ]:
            with self.subTest(route=route):
                self.assert_refused(
                    {**routed(self.second, 2), "route": route},
                    "line 3: route must be {origin, destination, legs: [{origin, "
                    "destination, voyage_number}]}",
                )
        self.assert_refused(
            {**routed(self.second, 2), "route": {**ROUTE, "legs": []}},
            "line 3: A route needs at least one leg.",
        )

    def test_a_key_given_twice_is_refused(self) -> None:
        # json.loads kept the last of the two silently.
        line = json.dumps(booking(self.first))[:-1] + ', "origin": "TOKYO"}'
        with self.assertRaisesMessage(
            CommandError, "line 2: the key 'origin' is given twice in one object"
        ):
            self.run_import(self.write(booking(self.second), line))
        assert not StoredEventRecord.objects.exists()
