from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite, ModelAdmin
from django.core.checks import CheckMessage, Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpRequest
from django.test import SimpleTestCase, override_settings
from eventsourcing_django.models import (
    NotificationTrackingRecord,
    SnapshotRecord,
    StoredEventRecord,
)

from cargotime.checks import check_event_store_admin, check_pooler, check_settings
from cargotime.event_store_admin import make_view_only


def ids(messages: list[CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


def check_with(**options: Any) -> list[CheckMessage]:
    """Run the checks with CARGOTIME set to *options*."""
    with override_settings(CARGOTIME=options):
        return check_settings()


class CheckTests(SimpleTestCase):
    def test_the_test_settings_pass(self) -> None:
        assert check_settings() == []

    def test_eventsourcing_django_missing_from_installed_apps(self) -> None:
        installed = [
            app for app in settings.INSTALLED_APPS if app != "eventsourcing_django"
        ]
        with override_settings(INSTALLED_APPS=installed):
            messages = check_settings()
        assert ids(messages) == ["cargotime.E001"]
        assert "Add 'eventsourcing_django' to INSTALLED_APPS" in (
            messages[0].hint or ""
        )

    @override_settings(USE_TZ=False)
    def test_use_tz_false(self) -> None:
        messages = check_settings()
        assert ids(messages) == ["cargotime.E002"]
        assert messages[0].hint == "Set USE_TZ = True."

    def test_an_application_name_over_32_characters(self) -> None:
        messages = check_with(APPLICATION_NAME="x" * 33)
        assert ids(messages) == ["cargotime.E003"]
        assert "32-character column" in (messages[0].hint or "")

    def test_an_application_name_of_32_characters_is_fine(self) -> None:
        assert check_with(APPLICATION_NAME="x" * 32) == []

    def test_an_application_name_that_is_empty_or_not_text(self) -> None:
        for name in ("", 7):
            with self.subTest(name=name):
                assert ids(check_with(APPLICATION_NAME=name)) == ["cargotime.E003"]

    def test_a_database_alias_not_in_databases(self) -> None:
        messages = check_with(DATABASE_ALIAS="archive")
        assert ids(messages) == ["cargotime.E004"]
        assert "default" in (messages[0].hint or "")

    def test_a_snapshot_interval_that_is_not_a_count(self) -> None:
        for interval in (-1, "100", 2.5, True):
            with self.subTest(interval=interval):
                messages = check_with(SNAPSHOT_INTERVAL=interval)
                assert ids(messages) == ["cargotime.E005"]
                assert messages[0].hint

    def test_snapshot_intervals_that_are_fine(self) -> None:
        for interval in (None, 0, 1, 500):
            with self.subTest(interval=interval):
                assert check_with(SNAPSHOT_INTERVAL=interval) == []

    def test_a_clock_that_cannot_be_used(self) -> None:
        for clock in ("tests.test_checks.no_such_clock", "nowhere.at_all", 42):
            with self.subTest(clock=clock):
                messages = check_with(CLOCK=clock)
                assert ids(messages) == ["cargotime.E006"]
                assert messages[0].hint

    def test_a_clock_given_by_its_dotted_path(self) -> None:
        assert check_with(CLOCK="eventsourcing.domain.datetime_now_with_tzinfo") == []

    @override_settings(CARGOTIME=[("APPLICATION_NAME", "cargotime")])
    def test_cargotime_that_is_not_a_dict(self) -> None:
        messages = check_settings()
        assert ids(messages) == ["cargotime.E007"]
        assert messages[0].hint

    def test_an_unknown_key_is_a_warning(self) -> None:
        messages = check_with(SNAPSHOT_INTERVALS=50)
        assert ids(messages) == ["cargotime.W001"]
        assert "SNAPSHOT_INTERVAL" in (messages[0].hint or "")

    @override_settings(USE_TZ=False)
    def test_manage_py_check_runs_them(self) -> None:
        with self.assertRaisesMessage(SystemCheckError, "cargotime.E002"):
            call_command("check")


MYSQL = {"ENGINE": "django.db.backends.mysql", "NAME": "cargo", "HOST": "nowhere"}


@contextmanager
def databases_with(**entries: dict[str, Any]) -> Iterator[None]:
    """Override DATABASES with *entries*; the check reads settings, never connects."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Overriding setting DATABASES")
        with override_settings(DATABASES={**settings.DATABASES, **entries}):
            yield


class DatabaseCheckTests(SimpleTestCase):
    def test_a_database_that_is_neither_sqlite_nor_postgresql(self) -> None:
        with databases_with(default=MYSQL):
            messages = check_settings()
        # Was no message: migrate passed, and the first save failed.
        assert ids(messages) == ["cargotime.E008"]
        assert isinstance(messages[0], Error)
        assert "mysql" in messages[0].msg
        assert "SQLite or PostgreSQL" in (messages[0].hint or "")

    def test_the_alias_cargotime_uses_is_the_one_checked(self) -> None:
        with databases_with(archive=MYSQL):
            assert check_settings() == []
            messages = check_with(DATABASE_ALIAS="archive")
        assert ids(messages) == ["cargotime.E008"]
        assert "'archive'" in messages[0].msg

    def test_sqlite_and_postgresql_pass(self) -> None:
        for engine in ["django.db.backends.sqlite3", "django.db.backends.postgresql"]:
            with (
                self.subTest(engine=engine),
                databases_with(default={"ENGINE": engine}),
            ):
                assert check_settings() == []

    def test_an_engine_that_cannot_be_loaded_is_named(self) -> None:
        for engine in ["django.db.backends.oracle", "no.such.backend", ""]:
            with (
                self.subTest(engine=engine),
                databases_with(default={"ENGINE": engine}),
            ):
                assert ids(check_settings()) == ["cargotime.E008"]

    def test_manage_py_check_fails_on_it(self) -> None:
        with (
            databases_with(default=MYSQL),
            self.assertRaisesMessage(SystemCheckError, "cargotime.E008"),
        ):
            call_command("check")


class EventStoreAdminCheckTests(SimpleTestCase):
    def test_the_project_passes(self) -> None:
        assert check_event_store_admin() == []

    def test_a_site_that_offers_to_edit_stored_events(self) -> None:
        # As when a project registers them after cargotime's ready() ran.
        site = AdminSite(name="late")
        site.register([StoredEventRecord, SnapshotRecord])
        self.addCleanup(site.unregister, [StoredEventRecord, SnapshotRecord])
        messages = check_event_store_admin()
        assert ids(messages) == ["cargotime.W002", "cargotime.W002"]
        assert all(isinstance(message, Warning) for message in messages)
        assert [message.obj for message in messages] == [
            StoredEventRecord,
            SnapshotRecord,
        ]
        assert "'late'" in messages[0].msg
        assert "eventsourcing_django.StoredEventRecord" in messages[0].msg
        assert "ViewOnly" in (messages[0].hint or "")
        make_view_only(site)
        assert check_event_store_admin() == []

    def test_an_admin_that_refuses_only_some_writes(self) -> None:
        site = AdminSite(name="half")
        site.register(StoredEventRecord, NoDeleting)
        self.addCleanup(site.unregister, StoredEventRecord)
        assert ids(check_event_store_admin()) == ["cargotime.W002"]

    def test_manage_py_check_shows_it(self) -> None:
        site = AdminSite(name="late")
        site.register(NotificationTrackingRecord)
        self.addCleanup(site.unregister, NotificationTrackingRecord)
        out = StringIO()
        call_command("check", stdout=out, stderr=out)
        assert "cargotime.W002" in out.getvalue()


class NoDeleting(ModelAdmin):  # type: ignore[type-arg]
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def postgresql(**entry: Any) -> dict[str, Any]:
    """Return a PostgreSQL entry of DATABASES holding *entry*."""
    return {"ENGINE": "django.db.backends.postgresql", "NAME": "cargo", **entry}


class PoolerCheckTests(SimpleTestCase):
    def test_prepared_statements_behind_a_transaction_pooler(self) -> None:
        entry = postgresql(
            DISABLE_SERVER_SIDE_CURSORS=True, OPTIONS={"prepare_threshold": 5}
        )
        with databases_with(default=entry):
            messages = check_pooler()
        assert ids(messages) == ["cargotime.W003"]
        assert isinstance(messages[0], Warning)
        assert "OPTIONS['prepare_threshold'] is 5" in messages[0].msg
        assert "max_prepared_statements" in (messages[0].hint or "")

    def test_consistent_settings_pass(self) -> None:
        for entry in (
            {"DISABLE_SERVER_SIDE_CURSORS": True},
            {
                "DISABLE_SERVER_SIDE_CURSORS": True,
                "OPTIONS": {"prepare_threshold": None},
            },
            # No pooler said: prepared statements are the deployer's choice.
            {"OPTIONS": {"prepare_threshold": 5}},
        ):
            with self.subTest(entry=entry), databases_with(default=postgresql(**entry)):
                assert check_pooler() == []

    def test_only_the_database_cargotime_uses(self) -> None:
        entry = postgresql(
            DISABLE_SERVER_SIDE_CURSORS=True, OPTIONS={"prepare_threshold": 5}
        )
        with databases_with(other=entry):
            assert check_pooler() == []
            with override_settings(CARGOTIME={"DATABASE_ALIAS": "other"}):
                assert ids(check_pooler()) == ["cargotime.W003"]
            # Time travel, the timeline and the Fleet read through the recorder there.
            with override_settings(CARGOTIME={"READ_DATABASE_ALIAS": "other"}):
                assert ids(check_pooler()) == ["cargotime.W003"]
            both = {"DATABASE_ALIAS": "other", "READ_DATABASE_ALIAS": "other"}
            with override_settings(CARGOTIME=both):
                assert ids(check_pooler()) == ["cargotime.W003"]
