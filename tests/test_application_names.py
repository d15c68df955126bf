"""Each application name is a store of its own, index included."""

from __future__ import annotations

import io
from datetime import timedelta
from uuid import uuid4

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse

from cargotime.application import SearchableTimestampsApplication
from cargotime.apps import get_application
from cargotime.domain import Cargo, Location
from cargotime.models import EventTimestamp
from cargotime.persistence import SearchableTimestampsRecorder
from tests.cargos import DEADLINE, ship
from tests.helpers import START, ManualClock

OTHER = {"APPLICATION_NAME": "other"}


def quiet(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


class SecondApplicationNameTests(TestCase):
    def setUp(self) -> None:
        self.clock = ManualClock()
        self.app = SearchableTimestampsApplication(clock=self.clock)
        self.other = SearchableTimestampsApplication(clock=self.clock, name="other")
        self.client.force_login(User.objects.create_superuser("boss", password="x"))

    def book_twice(self) -> Cargo:
        # The same tracking ID under both names, to different places.
        ours = Cargo.new_booking(
            Location.HONGKONG, Location.STOCKHOLM, DEADLINE, timestamp=START
        )
        theirs = Cargo.new_booking(
            Location.TOKYO,
            Location.AUMEL,
            DEADLINE,
            tracking_id=ours.id,
            timestamp=START + timedelta(hours=1),
        )
        theirs.change_destination(Location.NLRTM, timestamp=START + timedelta(hours=2))
        self.app.save(ours)
        self.other.save(theirs)
        return ours

    def test_one_tracking_id_is_two_cargos_under_two_names(self) -> None:
        tracking_id = self.book_twice().id
        late = START + timedelta(days=1)
        ours = self.app.get_cargo_at_timestamp(tracking_id, late)
        theirs = self.other.get_cargo_at_timestamp(tracking_id, late)
        assert (ours.version, ours.origin, ours.destination) == (
            1,
            Location.HONGKONG,
            Location.STOCKHOLM,
        )
        assert (theirs.version, theirs.origin, theirs.destination) == (
            2,
            Location.TOKYO,
            Location.NLRTM,
        )
        theirs_recorder = self.other.recorder
        ours_recorder = self.app.recorder
        assert isinstance(theirs_recorder, SearchableTimestampsRecorder)
        assert isinstance(ours_recorder, SearchableTimestampsRecorder)
        assert theirs_recorder.get_version_at_timestamp(tracking_id, START) is None
        assert ours_recorder.get_version_at_timestamp(tracking_id, START) == 1
        assert sorted(
            EventTimestamp.objects.filter(originator_id=tracking_id).values_list(
                "application_name", "originator_version"
            )
        ) == [("cargotime", 1), ("other", 1), ("other", 2)]

    def test_the_demo_loads_under_a_second_name_beside_the_first(self) -> None:
        quiet("load_demo_cargo")
        first = EventTimestamp.objects.filter(application_name="cargotime").count()
        with override_settings(CARGOTIME=OTHER):
            quiet("load_demo_cargo")
            quiet("timestamp_index", "check")
        assert EventTimestamp.objects.filter(application_name="other").count() == first
        quiet("timestamp_index", "check")

    def test_the_admin_under_a_second_name_shows_only_its_own_cargos(self) -> None:
        ours = ship(self.app, 2, clock=self.clock)
        theirs = ship(self.other, 1, clock=self.clock)
        url = reverse("admin:cargotime_time_travel")
        with override_settings(CARGOTIME=OTHER):
            picker = self.client.get(url)
            listed = [row.tracking_id for row, _ in picker.context["cargos"]]
            assert listed == [theirs]
            assert "? → ?" not in picker.content.decode()
            assert self.client.get(url, {"tracking_id": str(ours)}).status_code == 404
            found = self.client.get(url, {"tracking_id": str(theirs), "format": "json"})
            assert found.json()["version"] == 3
            search = self.client.get(url, {"q": "hong"})
            assert [row.tracking_id for row, _ in search.context["cargos"]] == [theirs]
        listed = [row.tracking_id for row, _ in self.client.get(url).context["cargos"]]
        assert listed == [ours]

    def test_the_event_timestamps_list_shows_only_its_own_rows(self) -> None:
        ours = ship(self.app, 1, clock=self.clock)
        theirs = ship(self.other, 2, clock=self.clock)
        url = reverse("admin:cargotime_eventtimestamp_changelist")

        def listed() -> set[tuple[object, int]]:
            response = self.client.get(url)
            assert response.status_code == 200
            return {
                (row.originator_id, row.originator_version)
                for row in response.context["cl"].result_list
            }

        assert listed() == {(ours, 1), (ours, 2), (ours, 3)}
        with override_settings(CARGOTIME=OTHER):
            assert listed() == {(theirs, version) for version in range(1, 5)}

    def test_check_and_rebuild_judge_only_their_own_rows(self) -> None:
        ship(self.app, 3, clock=self.clock)
        theirs = ship(self.other, 3, clock=self.clock)
        EventTimestamp.objects.filter(application_name="other").delete()
        # The first name's index is whole; the second one's is not.
        quiet("timestamp_index", "check")
        with override_settings(CARGOTIME=OTHER):
            with self.assertRaisesMessage(CommandError, "5 differences"):
                quiet("timestamp_index", "check")
            assert "inserted 5 missing rows" in quiet("timestamp_index", "rebuild")
            quiet("timestamp_index", "check")
            assert get_application().name == "other"
        assert (
            EventTimestamp.objects.filter(
                application_name="other", originator_id=theirs
            ).count()
            == 5
        )
        quiet("timestamp_index", "check")


class MigrationKeepsMeaningTests(TransactionTestCase):
    """Migration 0004 files each existing row under its stored event's name."""

    BEFORE = [("cargotime", "0003_events_at_function")]

    def tearDown(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    def test_existing_rows_take_the_name_of_the_event_they_index(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate(self.BEFORE)
        old = executor.loader.project_state(self.BEFORE).apps
        events = old.get_model("eventsourcing_django", "StoredEventRecord")
        rows = old.get_model("cargotime", "EventTimestamp")
        ours, theirs, orphan = uuid4(), uuid4(), uuid4()
        for name, originator_id in (("cargotime", ours), ("elsewhere", theirs)):
            events.objects.create(
                application_name=name,
                originator_id=originator_id,
                originator_version=1,
                topic="cargotime.domain:Cargo.BookingStarted",
                state=b"{}",
            )
        for originator_id in (ours, theirs, orphan):
            rows.objects.create(
                originator_id=originator_id, originator_version=1, timestamp=START
            )

        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

        assert dict(
            EventTimestamp.objects.values_list("originator_id", "application_name")
        ) == {ours: "cargotime", theirs: "elsewhere", orphan: "cargotime"}
        # Their state waits for a rebuild; the timestamps are as they were.
        assert set(EventTimestamp.objects.values_list("timestamp", "origin")) == {
            (START, None)
        }
