"""Snapshots never change an answer, whatever zone the clock is in.

The reference is the replay of the stored events alone: an application with no
snapshot store, reading the same database. Every field of every version, and of every
instant between events, must equal it exactly, offsets included.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location
from tests.helpers import cargo_state

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ZONES: list[tzinfo] = [
    UTC,
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),  # Its clocks move by half an hour.
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Pacific/Chatham"),  # +12:45, and +13:45 in summer.
    ZoneInfo("America/St_Johns"),
    timezone(timedelta(hours=-3, minutes=-30)),
]
HONGKONG_STOCKHOLM = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
TOKYO_STOCKHOLM = REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0]
MICROSECOND = timedelta(microseconds=1)
HOUR = timedelta(hours=1)
DAY_AND_A_HALF = timedelta(days=1, hours=12)


def transitions(zone: tzinfo, year: int = 2024) -> list[datetime]:
    """Return the UTC hours in *year* at which *zone*'s offset changes."""
    found = []
    instant = datetime(year, 1, 1, tzinfo=UTC)
    offset = instant.astimezone(zone).utcoffset()
    while instant.year == year:
        instant += HOUR
        now = instant.astimezone(zone).utcoffset()
        if now != offset:
            found.append(instant)
            offset = now
    return found


# Where a zone has no daylight saving time, any day of the year will do.
CHANGES = {
    zone: transitions(zone) or [datetime(2024, 3, 31, 1, tzinfo=UTC)] for zone in ZONES
}

# The commands a history is made of; the domain refuses some in some states.
COMMANDS: list[tuple[str, tuple[Any, ...]]] = [
    ("assign_route", (HONGKONG_STOCKHOLM,)),
    ("assign_route", (TOKYO_STOCKHOLM,)),
    ("change_destination", (Location.STOCKHOLM,)),
    ("change_destination", (Location.AUMEL,)),
    ("register_handling_event", (None, Location.HONGKONG, HandlingActivity.RECEIVE)),
    ("register_handling_event", ("V1", Location.HONGKONG, HandlingActivity.LOAD)),
    ("register_handling_event", ("V1", Location.NEWYORK, HandlingActivity.UNLOAD)),
    ("register_handling_event", ("V1", Location.TOKYO, HandlingActivity.UNLOAD)),
    ("register_handling_event", ("V2", Location.NEWYORK, HandlingActivity.LOAD)),
    ("register_handling_event", ("V2", Location.STOCKHOLM, HandlingActivity.UNLOAD)),
    ("register_handling_event", ("V3", Location.TOKYO, HandlingActivity.LOAD)),
    ("register_handling_event", (None, Location.STOCKHOLM, HandlingActivity.CLAIM)),
]
pauses = st.sampled_from(
    [
        timedelta(0),
        MICROSECOND,
        timedelta(minutes=30),
        HOUR,
        timedelta(hours=23),
        timedelta(days=1),
        timedelta(days=2, hours=5),
    ]
)


class ZoneClock:
    """A clock that reads a moving instant in a zone, as a server in it would."""

    def __init__(self, start: datetime, zone: tzinfo) -> None:
        self.instant = start
        self.zone = zone

    def __call__(self) -> datetime:
        return self.instant.astimezone(self.zone)


def exact(value: Any) -> Any:
    """Return *value* with each datetime as its ISO text: its offset must match too."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def exact_state(cargo: Cargo) -> dict[str, Any]:
    """Return every field of *cargo*, its times and its version, exactly."""
    state = {
        **cargo_state(cargo),
        "created_on": cargo.created_on,
        "modified_on": cargo.modified_on,
    }
    return {key: exact(value) for key, value in state.items()}


class SnapshotsAndZonesTestCase(TestCase):
    def histories(
        self,
        zone: tzinfo,
        start: datetime,
        interval: int,
        steps: list[tuple[int, timedelta]],
    ) -> UUID:
        """Book and route a cargo at *start*, go on with *steps*, check every answer."""
        clock = ZoneClock(start, zone)
        app = SearchableTimestampsApplication(clock=clock, snapshot_interval=interval)
        self.addCleanup(app.close)
        tracking_id = app.book_new_cargo(
            Location.HONGKONG, Location.STOCKHOLM, clock() + timedelta(weeks=3)
        )
        clock.instant += HOUR
        app.assign_route(tracking_id, HONGKONG_STOCKHOLM)
        for command, pause in steps:
            clock.instant += pause
            name, arguments = COMMANDS[command]
            call: Callable[..., None] = getattr(app, name)
            # A handling event the route cannot explain is refused; nothing stored.
            with suppress(ValueError):
                call(tracking_id, *arguments)
        self.assert_snapshots_change_nothing(app, tracking_id)
        return tracking_id

    def assert_snapshots_change_nothing(
        self, app: SearchableTimestampsApplication, tracking_id: UUID
    ) -> None:
        # The reference: the stored events alone, replayed from the first.
        replay = BookingApplication(env={"PERSISTENCE_MODULE": "eventsourcing_django"})
        self.addCleanup(replay.close)
        assert replay.snapshots is None
        latest = app.get_cargo(tracking_id).version
        assert app.snapshots is not None
        expected = {
            version: exact_state(
                cast(Cargo, replay.repository.get(tracking_id, version=version))
            )
            for version in range(1, latest + 1)
        }
        assert exact_state(app.get_cargo(tracking_id)) == expected[latest]
        for version in range(1, latest + 1):
            cargo = cast(Cargo, app.repository.get(tracking_id, version=version))
            assert exact_state(cargo) == expected[version], version

        moments = sorted(
            (datetime.fromisoformat(state["modified_on"]), version)
            for version, state in expected.items()
        )
        instants = {moment for moment, _ in moments}
        for (before, _), (after, _) in zip(moments, moments[1:], strict=False):
            instants.add(before + (after - before) / 2)
        instants |= {moment + MICROSECOND for moment in list(instants)}
        instants |= {moment - MICROSECOND for moment, _ in moments[1:]}
        for instant in sorted(instants):
            version = max(v for at, v in moments if at <= instant)
            cargo = app.get_cargo_at_timestamp(tracking_id, instant)
            assert exact_state(cargo) == expected[version], (instant, version)
        # The instants in the clock's own zone name the same moments.
        for instant in sorted(instants):
            local = instant.astimezone(ZoneInfo("Europe/Berlin"))
            version = max(v for at, v in moments if at <= instant)
            cargo = app.get_cargo_at_timestamp(tracking_id, local)
            assert cargo.version == version


class SnapshotsInZonesPropertyTests(HypothesisTestCase, SnapshotsAndZonesTestCase):
    @EXAMPLES
    @given(data=st.data())
    def test_snapshots_and_replay_agree_in_any_zone_across_dst(
        self, data: st.DataObject
    ) -> None:
        zone = data.draw(st.sampled_from(ZONES), label="zone")
        change = data.draw(st.sampled_from(CHANGES[zone]), label="change")
        # Start up to six days before the clocks change, so histories span it.
        lead = data.draw(st.integers(min_value=1, max_value=6 * 24), label="hours")
        start = change - lead * HOUR
        interval = data.draw(st.sampled_from([1, 2, 3, 20]), label="interval")
        steps = data.draw(
            st.lists(
                st.tuples(st.integers(0, len(COMMANDS) - 1), pauses),
                max_size=14,
            ),
            label="steps",
        )
        self.histories(zone, start, interval, steps)


class SnapshotsInZonesRegressionTests(SnapshotsAndZonesTestCase):
    """The examples of the issue, one zone each, with a snapshot at every event."""

    def test_routed_in_berlin_four_days_before_summer_time(self) -> None:
        # Was an ETA an hour apart: 2024-04-03T10:00Z from memory and the snapshot,
        # 11:00Z from the replay of the stored +01:00 timestamp.
        start = datetime(2024, 3, 27, 11, tzinfo=UTC)
        tracking_id = self.histories(ZoneInfo("Europe/Berlin"), start, 1, [(4, HOUR)])
        app = SearchableTimestampsApplication()
        self.addCleanup(app.close)
        cargo = app.get_cargo_at_timestamp(tracking_id, start + 2 * HOUR)
        eta = cargo.estimated_time_of_arrival
        assert eta is not None
        assert eta.isoformat() == "2024-04-03T12:00:00+00:00"

    def test_routed_in_new_york_days_before_winter_time(self) -> None:
        start = datetime(2024, 10, 30, 16, tzinfo=UTC)
        self.histories(ZoneInfo("America/New_York"), start, 2, [(4, HOUR), (5, HOUR)])

    def test_every_zone_and_interval_across_each_change_of_the_clocks(self) -> None:
        # The whole voyage, a day and a half apart, from two days before each change.
        apart = DAY_AND_A_HALF
        voyage = [(4, HOUR), (5, apart), (6, apart), (8, apart), (9, apart), (11, HOUR)]
        for zone in ZONES:
            for change in CHANGES[zone]:
                for interval in (1, 2, 3, 20):
                    with self.subTest(zone=zone, change=change, interval=interval):
                        start = change - timedelta(days=2)
                        self.histories(zone, start, interval, voyage)
