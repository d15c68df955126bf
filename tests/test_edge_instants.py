"""Data at the edges of the accepted window breaks no page and no command, in any zone.

check_instant() accepts [0002-01-01T00:00Z, 9998-01-01T00:00Z). Cargos stamped with
the first and the last of those instants, with deadlines and estimated arrivals at
both ends, are shown by every page of cargotime and pass the index commands, whatever
the Django time zone, on both databases.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import TestCase, override_settings
from django.urls import reverse
from eventsourcing_django.models import StoredEventRecord

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import (
    EARLIEST_INSTANT,
    END_OF_INSTANTS,
    REGISTERED_ROUTES,
    HandlingActivity,
    Location,
)
from cargotime.models import EventTimestamp
from tests.helpers import JSON_KEYS, ManualClock

MICROSECOND = timedelta(microseconds=1)
LATEST = END_OF_INSTANTS - MICROSECOND
ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
# The zones of the issue, and two whose local mean time in year 2 was nearly 16 hours
# from UTC: Sitka's +14:58:47 and Manila's -15:56:00.
ZONES = [
    "UTC",
    "America/New_York",
    "Asia/Tokyo",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/Sitka",
    "Asia/Manila",
]
HIERARCHY_LINK = re.compile(r'href="(\?[^"]*timestamp__year=[^"]*)"')


def ship(app: SearchableTimestampsApplication, clock: ManualClock) -> UUID:
    """Book, route and receive a cargo, an hour apart, from the clock's instant."""
    tracking_id = app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, clock.now)
    clock.advance()
    app.assign_route(tracking_id, ROUTE)
    clock.advance()
    app.register_handling_event(
        tracking_id, None, Location.HONGKONG, HandlingActivity.RECEIVE
    )
    return tracking_id


class EdgeInstantsTests(TestCase):
    earliest: UUID
    latest: UUID
    deadlines: UUID
    user: User

    @classmethod
    def setUpTestData(cls) -> None:
        # At the start of the window: events, deadline and all.
        clock = ManualClock(EARLIEST_INSTANT)
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=2)
        cls.earliest = ship(app, clock)
        # At its end: the last three microseconds, and the ETA a week past them.
        clock.now = LATEST - 2 * MICROSECOND
        tracking_id = app.book_new_cargo(Location.TOKYO, Location.STOCKHOLM, LATEST)
        clock.now = LATEST - MICROSECOND
        app.assign_route(tracking_id, REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0])
        clock.now = LATEST
        app.register_handling_event(
            tracking_id, None, Location.TOKYO, HandlingActivity.RECEIVE
        )
        cls.latest = tracking_id
        # Today, with deadlines at both ends.
        clock.now = datetime(2024, 3, 1, 8, tzinfo=UTC)
        cls.deadlines = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, EARLIEST_INSTANT
        )
        app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, LATEST)
        app.close()
        cls.user = User.objects.create_superuser("boss", password="secret")

    def setUp(self) -> None:
        self.client.force_login(self.user)

    def get_ok(self, url: str, params: dict[str, str] | None = None) -> str:
        response = self.client.get(url, params or {})
        assert response.status_code == 200, (url, params, response.status_code)
        return response.content.decode()

    def test_the_time_travel_pages_show_every_version_and_instant(self) -> None:
        url = reverse("admin:cargotime_time_travel")
        for zone in ZONES:
            with self.subTest(zone=zone), override_settings(TIME_ZONE=zone):
                self.get_ok(url)
                for tracking_id in [self.earliest, self.latest, self.deadlines]:
                    self.assert_cargo_pages(url, str(tracking_id))

    def assert_cargo_pages(self, url: str, tracking_id: str) -> None:
        # Without an instant, the page shows now: the latest cargo is not booked yet.
        response = self.client.get(url, {"tracking_id": tracking_id})
        assert response.status_code == (404 if tracking_id == str(self.latest) else 200)
        response = self.client.get(
            url, {"tracking_id": tracking_id, "version": "1", "format": "json"}
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == JSON_KEYS
        for event in body["events"]:
            at = event["timestamp"]
            assert EARLIEST_INSTANT <= datetime.fromisoformat(at) <= LATEST
            for params in [
                {"version": str(event["version"])},
                {"at": at},
                {"at": at, "format": "json"},
                {"at": at, "compare_at": body["events"][0]["timestamp"]},
            ]:
                self.get_ok(url, {"tracking_id": tracking_id, **params})

    def test_the_json_gives_the_edge_instants_exactly(self) -> None:
        url = reverse("admin:cargotime_time_travel")
        for zone in ZONES:
            with self.subTest(zone=zone), override_settings(TIME_ZONE=zone):
                early = self.client.get(
                    url, {"tracking_id": str(self.earliest), "format": "json"}
                ).json()
                late = self.client.get(
                    url,
                    {
                        "tracking_id": str(self.latest),
                        "at": LATEST.isoformat(),
                        "format": "json",
                    },
                ).json()
            assert early["events"][0]["timestamp"] == "0002-01-01T00:00:00+00:00"
            assert early["arrival_deadline"] == "0002-01-01T00:00:00+00:00"
            assert early["estimated_time_of_arrival"] == "0002-01-08T01:00:00+00:00"
            assert late["events"][-1]["timestamp"] == LATEST.isoformat()
            assert late["arrival_deadline"] == LATEST.isoformat()
            assert late["estimated_time_of_arrival"] == (
                "9998-01-07T23:59:59.999998+00:00"
            )

    def test_the_event_timestamps_list_and_its_date_hierarchy(self) -> None:
        url = reverse("admin:cargotime_eventtimestamp_changelist")
        for zone in ZONES:
            with self.subTest(zone=zone), override_settings(TIME_ZONE=zone):
                seen: set[str] = set()
                pages = [""]
                while pages:
                    query = pages.pop()
                    html = self.get_ok(url + query)
                    for found in HIERARCHY_LINK.findall(html):
                        # Only the drill-down: not the facets' and ordering's variants.
                        drill = {
                            key: value
                            for key, value in parse_qsl(unescape(found)[1:])
                            if key.startswith("timestamp__")
                        }
                        link = "?" + urlencode(sorted(drill.items()))
                        if link not in seen:
                            seen.add(link)
                            pages.append(link)
                # Down to the days of years 1 or 2, and of 9997 or 9998.
                days = [link for link in seen if "timestamp__day=" in link]
                assert any(re.search(r"year=(1|2)(&|$)", day) for day in days), seen
                assert any(re.search(r"year=999[78](&|$)", day) for day in days), seen

    def test_the_index_commands_check_and_rebuild_the_edges(self) -> None:
        for zone in ZONES:
            with self.subTest(zone=zone), override_settings(TIME_ZONE=zone):
                out = io.StringIO()
                call_command("timestamp_index", "check", stdout=out)
                call_command("timestamp_index", "rebuild", stdout=out)
                call_command("timestamp_index", "check", stdout=out)


class RefusedInstantsTests(TestCase):
    """Every path refuses what the window leaves out, and stores nothing."""

    OUTSIDE = [
        datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),  # Year 0 in UTC.
        datetime.min.replace(tzinfo=UTC),
        EARLIEST_INSTANT - MICROSECOND,
        END_OF_INSTANTS,
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(2024, 3, 1, 8),  # Naive.
    ]

    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.addCleanup(self.app.close)
        self.tracking_id = ship(self.app, self.clock)
        self.stored = StoredEventRecord.objects.count()

    def assert_nothing_more_stored(self) -> None:
        assert StoredEventRecord.objects.count() == self.stored
        assert EventTimestamp.objects.count() == 3
        assert self.app.get_cargo(self.tracking_id).version == 3

    def test_the_commands_refuse_a_clock_outside_the_window(self) -> None:
        commands: list[Callable[[], object]] = [
            lambda: self.app.book_new_cargo(
                Location.HONGKONG, Location.STOCKHOLM, LATEST
            ),
            lambda: self.app.change_destination(self.tracking_id, Location.AUMEL),
            lambda: self.app.assign_route(self.tracking_id, ROUTE),
            lambda: self.app.register_handling_event(
                self.tracking_id, "V1", Location.HONGKONG, HandlingActivity.LOAD
            ),
        ]
        for now in self.OUTSIDE:
            self.clock.now = now
            for command in commands:
                with self.subTest(now=now), self.assertRaises(ValueError) as raised:
                    command()
                assert str(raised.exception).startswith("The timestamp "), raised
        self.assert_nothing_more_stored()

    def test_a_booking_refuses_a_deadline_outside_the_window(self) -> None:
        for deadline in self.OUTSIDE:
            with (
                self.subTest(deadline=deadline),
                self.assertRaisesMessage(ValueError, "The arrival deadline "),
            ):
                self.app.book_new_cargo(Location.HONGKONG, Location.AUMEL, deadline)
        self.assert_nothing_more_stored()

    def test_the_time_travel_page_refuses_an_instant_outside_the_window(
        self,
    ) -> None:
        user = User.objects.create_superuser("boss", password="secret")
        self.client.force_login(user)
        url = reverse("admin:cargotime_time_travel")
        for zone in ZONES:
            for at in [
                "0001-01-01T00:00:00+01:00",
                "0001-01-01T00:00:00",
                "9998-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999",
            ]:
                with self.subTest(zone=zone, at=at), override_settings(TIME_ZONE=zone):
                    response = self.client.get(
                        url,
                        {
                            "tracking_id": str(self.tracking_id),
                            "at": at,
                            "format": "json",
                        },
                    )
                    assert response.status_code == 400
                    [error] = response.json()["errors"]["at"]
                    assert "outside the range of dates and times cargotime" in str(
                        error
                    ), error
        self.assert_nothing_more_stored()
