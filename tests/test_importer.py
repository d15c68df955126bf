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


class ImportTests(TestCase):
    def setUp(self) -> None:
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
            originator_id=self.second, originator_version=2, timestamp=T0
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
            assert "Imported 1 events" in self.run_import("-")
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
        assert summary.booked == [tracking_id]
        assert summary.events == 2
        assert app.get_cargo(tracking_id).routing_status == "ROUTED"

    def test_history_errors_carry_their_line(self) -> None:
        with self.assertRaises(HistoryError) as raised:
            read_json_lines(["", "{}"])
        assert raised.exception.line == 2
        assert str(raised.exception).startswith("line 2: unknown event type None")
