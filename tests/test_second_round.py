"""Regressions of the second hostile round: offsets, text, numbers, prefixes, races."""

from __future__ import annotations

import io
import json
from datetime import timedelta, timezone
from typing import Any
from unittest import mock

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase
from django.urls import reverse

from cargotime.application import SearchableTimestampsApplication, tracking_id_prefix
from cargotime.apps import get_application
from cargotime.domain import Cargo, HandlingActivity, Itinerary, Leg, Location
from cargotime.fleet import FleetFilters, iter_fleet
from cargotime.importer import HistoryError, read_json_lines
from cargotime.persistence import SearchableTimestampsRecorder
from tests.cargos import DEADLINE, ship
from tests.helpers import START, ManualClock

# Offsets Python takes and PostgreSQL does not (it stops at ±15:59).
WIDE_OFFSETS = [
    timezone(timedelta(hours=16)),
    timezone(-timedelta(hours=23, minutes=59)),
]


def quiet(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


class WideOffsetTests(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.tracking_id = ship(self.app, 2, clock=self.clock)

    def test_the_recorder_reads_any_offset_python_takes(self) -> None:
        recorder = self.app.recorder
        assert isinstance(recorder, SearchableTimestampsRecorder)
        for zone in WIDE_OFFSETS:
            instant = self.clock.now.astimezone(zone)
            assert recorder.get_version_at_timestamp(self.tracking_id, instant) == 4
            events = recorder.select_events_at_timestamp(
                self.tracking_id, instant, snapshot=True
            )
            assert [event.originator_version for event in events] == [1, 2, 3, 4]
            cargo = self.app.get_cargo_at_timestamp(self.tracking_id, instant)
            assert cargo.version == 4

    def test_the_event_timestamps_list_takes_any_offset_python_takes(self) -> None:
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        url = reverse("admin:cargotime_eventtimestamp_changelist")
        for key in ("timestamp__gte", "timestamp__lt", "timestamp__exact"):
            for text in ("2024-01-01T00:00:00+16:00", "9997-12-31T00:00:00-23:59"):
                response = self.client.get(url, {key: text})
                assert response.status_code in {200, 302}, (key, text)
        listed = self.client.get(url, {"timestamp__gte": "2024-03-01T23:00:00+16:00"})
        assert listed.status_code == 200
        # 07:00 UTC: every one of the cargo's four events is at 08:00 UTC or later.
        assert len(listed.context["cl"].result_list) == 4

    def test_a_long_hexadecimal_search_matches_nothing_and_fails_nothing(self) -> None:
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        url = reverse("admin:cargotime_eventtimestamp_changelist")
        response = self.client.get(url, {"q": "a" * 50_000})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []


class PrefixTests(TestCase):
    def test_a_prefix_is_written_the_way_tracking_ids_are(self) -> None:
        assert tracking_id_prefix("61C6A8009387") == "61c6a800-9387"
        assert tracking_id_prefix("61c6a800-93") == "61c6a800-93"
        assert tracking_id_prefix(" 61c6a800 ") == "61c6a800"
        assert tracking_id_prefix("a" * 32) == "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
        for text in ("", "-", "xyz", "a" * 33, "61c6 a800"):
            assert tracking_id_prefix(text) is None, text

    def test_a_prefix_without_dashes_finds_the_cargo_everywhere(self) -> None:
        clock = ManualClock()
        app = get_application()
        tracking_id = ship(app, 1, clock=clock)
        other = ship(app, 1, clock=clock)
        digits = tracking_id.hex[:12]
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        picker = self.client.get(reverse("admin:cargotime_time_travel"), {"q": digits})
        assert [row.tracking_id for row, _ in picker.context["cargos"]] == [tracking_id]
        listed = self.client.get(
            reverse("admin:cargotime_eventtimestamp_changelist"), {"q": digits}
        )
        assert {row.originator_id for row in listed.context["cl"].result_list} == {
            tracking_id
        }
        found = iter_fleet(app.clock(), app=app, filters=FleetFilters(q=digits))
        assert [cargo.tracking_id for cargo in found] == [tracking_id]
        assert other != tracking_id


class StorableTextTests(TestCase):
    def test_the_domain_refuses_voyage_numbers_no_database_stores(self) -> None:
        route = Itinerary(
            "HONGKONG", "STOCKHOLM", (Leg("HONGKONG", "STOCKHOLM", "V1"),)
        )
        for bad in ("V\x001", "\ud800", "V\udfff"):
            cargo = Cargo.new_booking(
                Location.HONGKONG, Location.STOCKHOLM, DEADLINE, timestamp=START
            )
            with self.assertRaisesMessage(ValueError, "which no database stores"):
                cargo.assign_route(
                    Itinerary(
                        route.origin,
                        route.destination,
                        (Leg("HONGKONG", "STOCKHOLM", bad),),
                    ),
                    timestamp=START,
                )
            cargo.assign_route(route, timestamp=START)
            cargo.register_handling_event(
                None, Location.HONGKONG, HandlingActivity.RECEIVE, timestamp=START
            )
            with self.assertRaisesMessage(ValueError, "which no database stores"):
                cargo.register_handling_event(
                    bad, Location.HONGKONG, HandlingActivity.LOAD, timestamp=START
                )

    def test_the_importer_names_the_line_of_unstorable_or_unreadable_text(self) -> None:
        booking = {
            "tracking_id": "5f0b6c3e-8a1d-4e2f-9b7c-2d4e6f8a0b1c",
            "timestamp": "2024-03-01T08:00:00+00:00",
            "type": "BookingStarted",
            "origin": "HONGKONG",
            "destination": "STOCKHOLM",
            "arrival_deadline": "2024-04-01T00:00:00+00:00",
        }
        route: dict[str, Any] = {
            **{k: booking[k] for k in ("tracking_id", "timestamp")},
            "type": "RouteAssigned",
            "route": {
                "origin": "HONGKONG",
                "destination": "STOCKHOLM",
                "legs": [
                    {
                        "origin": "HONGKONG",
                        "destination": "STOCKHOLM",
                        "voyage_number": "V\u00001",
                    }
                ],
            },
        }
        surrogate = json.dumps(route).replace("V\\u00001", "\\ud800")
        for second, message in (
            (json.dumps(route), "no database stores"),
            (surrogate, "no database stores"),
            ('{"tracking_id": ' + "9" * 5000 + "}", "not valid JSON"),
        ):
            app = SearchableTimestampsApplication()
            with self.assertRaisesMessage(HistoryError, "line 2: ") as raised:
                from cargotime.importer import import_history

                import_history(app, read_json_lines([json.dumps(booking), second]))
            assert message in str(raised.exception), raised.exception


class CommandArgumentTests(TestCase):
    def test_numbers_out_of_range_are_refused_by_the_arguments(self) -> None:
        tracking_id = "aebf8c46-d7d1-5ac0-a20e-13efd71a6a90"
        for args in (
            ("--after", f"{tracking_id}:9223372036854775808"),
            ("--after", f"{tracking_id}:-99999999999999999999999"),
            ("--batch-size", "99999999999999999999"),
            ("--batch-size", "9223372036854775808"),
        ):
            with self.assertRaises(CommandError):
                quiet("timestamp_index", "check", *args)

    def test_the_rebuild_names_wrong_rows_as_rows(self) -> None:
        app = get_application()
        ship(app, 2, clock=ManualClock())
        from cargotime.models import EventTimestamp

        EventTimestamp.objects.filter(originator_version=2).update(destination="TOKYO")
        output = quiet("timestamp_index", "rebuild")
        assert "fixed 1 wrong row" in output
        assert "timestamps" not in output


class DemoRaceTests(TestCase):
    def test_a_cargo_another_run_booked_meanwhile_counts_as_there(self) -> None:
        quiet("load_demo_cargo")
        # As if the check ran before the other run's save: every cargo looks new.
        with mock.patch(
            "eventsourcing.application.Repository.__contains__", return_value=False
        ):
            output = quiet("load_demo_cargo")
        assert "Booked 0 demo cargos" in output
