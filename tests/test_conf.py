from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase, TestCase, override_settings
from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

from cargotime import conf
from cargotime.apps import build_application, get_application
from cargotime.domain import Cargo, Location
from cargotime.models import EventTimestamp

FIXED = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
DEADLINE = datetime(2021, 7, 1, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED


class ConfTests(SimpleTestCase):
    @override_settings()
    def test_defaults_apply_without_the_setting(self) -> None:
        from django.conf import settings

        del settings.CARGOTIME
        assert conf.application_name() == "cargotime"
        assert conf.database_alias() == "default"
        assert conf.snapshot_interval() == 20
        assert conf.clock() is datetime_now_with_tzinfo

    @override_settings(CARGOTIME={"SNAPSHOT_INTERVAL": 7})
    def test_a_partial_dict_keeps_the_other_defaults(self) -> None:
        assert conf.snapshot_interval() == 7
        assert conf.application_name() == "cargotime"

    def test_none_and_zero_disable_snapshots(self) -> None:
        for value in (None, 0):
            with (
                self.subTest(value=value),
                override_settings(CARGOTIME={"SNAPSHOT_INTERVAL": value}),
            ):
                assert conf.snapshot_interval() is None

    @override_settings(CARGOTIME={"CLOCK": "tests.test_conf.fixed_clock"})
    def test_the_clock_may_be_a_dotted_path(self) -> None:
        assert conf.clock() is fixed_clock

    @override_settings(CARGOTIME={"CLOCK": fixed_clock})
    def test_the_clock_may_be_a_callable(self) -> None:
        assert conf.clock() is fixed_clock

    @override_settings(CARGOTIME={"CLOCK": 42})
    def test_a_clock_that_is_not_callable_is_refused(self) -> None:
        with self.assertRaisesMessage(TypeError, "must be callable"):
            conf.clock()

    def test_the_replica_wait_is_bounded_whatever_the_setting_says(self) -> None:
        # Checks (cargotime.E012) do not run under gunicorn: a wait that is no number
        # of seconds must neither fail every read nor hold it for good.
        cases: list[tuple[object, float]] = [
            (0.5, 0.5),
            (0, 0.0),
            ("0.2", 0.2),
            (-1, 0.0),
            (float("-inf"), 0.0),
            (float("inf"), conf.MAX_READ_REPLICA_WAIT),
            (1e308, conf.MAX_READ_REPLICA_WAIT),
            (3600, conf.MAX_READ_REPLICA_WAIT),
            (float("nan"), 0.2),
            (True, 0.2),
            (None, 0.2),
            ([1], 0.2),
            ("soon", 0.2),
        ]
        for value, seconds in cases:
            with (
                self.subTest(value=value),
                override_settings(CARGOTIME={"READ_REPLICA_MAX_WAIT": value}),
            ):
                assert conf.read_replica_max_wait() == seconds


class BuildApplicationTests(TestCase):
    databases = {"default", "secondary"}

    def book(self) -> Cargo:
        app = get_application()
        tracking_id = app.book_new_cargo(Location.NLRTM, Location.USDAL, DEADLINE)
        return app.get_cargo(tracking_id)

    @override_settings(CARGOTIME={"APPLICATION_NAME": "cargo-archive"})
    def test_the_application_name_is_the_name_events_are_stored_under(self) -> None:
        cargo = self.book()
        record = StoredEventRecord.objects.get(originator_id=cargo.id)
        assert record.application_name == "cargo-archive"
        assert get_application().name == "cargo-archive"

    def test_the_default_name_is_cargotime(self) -> None:
        cargo = self.book()
        record = StoredEventRecord.objects.get(originator_id=cargo.id)
        assert record.application_name == "cargotime"

    @override_settings(CARGOTIME={"DATABASE_ALIAS": "secondary"})
    def test_the_database_alias_holds_the_events_and_the_index(self) -> None:
        cargo = self.book()
        assert (
            StoredEventRecord.objects.using("secondary")
            .filter(originator_id=cargo.id)
            .exists()
        )
        assert (
            EventTimestamp.objects.using("secondary")
            .filter(originator_id=cargo.id)
            .exists()
        )
        assert not EventTimestamp.objects.filter(originator_id=cargo.id).exists()

    @override_settings(CARGOTIME={"CLOCK": "tests.test_conf.fixed_clock"})
    def test_events_take_their_timestamps_from_the_configured_clock(self) -> None:
        cargo = self.book()
        assert cargo.created_on == FIXED
        row = EventTimestamp.objects.get(originator_id=cargo.id)
        assert row.timestamp == FIXED

    @override_settings(CARGOTIME={"CLOCK": "tests.test_conf.fixed_clock"})
    def test_a_clock_given_to_build_application_wins(self) -> None:
        earlier = FIXED - timedelta(days=3)
        app = build_application(clock=lambda: earlier)
        try:
            tracking_id = app.book_new_cargo(Location.NLRTM, Location.USDAL, DEADLINE)
            assert app.get_cargo(tracking_id).created_on == earlier
        finally:
            app.close()

    @override_settings(CARGOTIME={"SNAPSHOT_INTERVAL": 2})
    def test_the_snapshot_interval_sets_how_often_snapshots_are_taken(self) -> None:
        app = get_application()
        tracking_id = app.book_new_cargo(Location.NLRTM, Location.USDAL, DEADLINE)
        for destination in (Location.AUMEL, Location.HAMBURG, Location.TOKYO):
            app.change_destination(tracking_id, destination)
        versions = sorted(
            SnapshotRecord.objects.filter(originator_id=tracking_id).values_list(
                "originator_version", flat=True
            )
        )
        assert versions == [2, 4]

    @override_settings(CARGOTIME={"SNAPSHOT_INTERVAL": None})
    def test_without_an_interval_no_snapshot_is_taken(self) -> None:
        app = get_application()
        tracking_id = app.book_new_cargo(Location.NLRTM, Location.USDAL, DEADLINE)
        for _ in range(100):
            app.change_destination(tracking_id, Location.AUMEL)
        assert app.get_cargo(tracking_id).version == 101
        assert not SnapshotRecord.objects.filter(originator_id=tracking_id).exists()
