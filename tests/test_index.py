from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from uuid import UUID, uuid4

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import Aggregate

from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.apps import CargotimeConfig, get_application
from cargotime.domain import Location
from cargotime.index import BatchDiff, TimestampIndexer
from cargotime.models import EventTimestamp
from tests.cargos import ship

START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2024, 7, 1, tzinfo=UTC)
PLAIN = {"PERSISTENCE_MODULE": "eventsourcing_django"}
ENCRYPTED = {
    **PLAIN,
    "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
    "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher",
    "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
}


def ticking_clock(start: datetime = START) -> Callable[[], datetime]:
    """Return a clock that moves 90 minutes further each time it is read."""
    moments: Iterator[datetime] = (
        start + timedelta(minutes=90) * step for step in range(10**6)
    )
    return lambda: next(moments)


def run(*args: str, stdout: io.StringIO | None = None) -> str:
    out = stdout or io.StringIO()
    call_command("timestamp_index", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def index_rows() -> list[tuple[UUID, int, datetime]]:
    return sorted(
        EventTimestamp.objects.values_list(
            "originator_id", "originator_version", "timestamp"
        )
    )


class Thing(Aggregate):
    """An aggregate that is not a cargo: the index leaves its events out."""


class TimestampIndexTests(TestCase):
    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication(clock=ticking_clock())
        self.addCleanup(self.app.close)
        self.cargos = [ship(self.app, 3, deadline=DEADLINE) for _ in range(3)]
        self.expected = index_rows()

    def test_a_matching_index_passes_the_check(self) -> None:
        assert len(self.expected) == 15
        output = run("check")
        assert "The timestamp index matches the 15 stored cargo events" in output

    def test_missing_rows_fail_the_check_and_rebuild_restores_them(self) -> None:
        EventTimestamp.objects.filter(
            originator_id=self.cargos[1], originator_version__in=[2, 4]
        ).delete()
        with self.assertRaisesMessage(CommandError, "2 differences") as raised:
            run("check", stdout=(out := io.StringIO()))
        assert raised.exception.returncode == 1
        report = out.getvalue()
        assert "Missing rows (stored events without an index row): 2" in report
        assert f"{self.cargos[1]} v2: no row" in report
        assert "timestamp_index rebuild" in str(raised.exception)
        output = run("rebuild")
        assert "inserted 2 missing rows" in output
        assert index_rows() == self.expected
        run("check")

    def test_extra_rows_fail_the_check_and_rebuild_deletes_them(self) -> None:
        stray = uuid4()
        EventTimestamp.objects.create(
            application_name="cargotime",
            originator_id=stray,
            originator_version=1,
            timestamp=START,
        )
        EventTimestamp.objects.create(
            application_name="cargotime",
            originator_id=self.cargos[0],
            originator_version=6,
            timestamp=START,
        )
        with self.assertRaisesMessage(CommandError, "2 differences"):
            run("check", stdout=(out := io.StringIO()))
        assert (
            "Extra rows (index rows without a stored cargo event): 2" in out.getvalue()
        )
        assert f"{stray} v1: a row at" in out.getvalue()
        assert "deleted 2 extra rows" in run("rebuild")
        assert index_rows() == self.expected

    def test_wrong_timestamps_fail_the_check_and_rebuild_fixes_them(self) -> None:
        row = EventTimestamp.objects.get(
            originator_id=self.cargos[2], originator_version=3
        )
        right = row.timestamp
        row.timestamp = right + timedelta(days=400)
        row.save()
        with self.assertRaisesMessage(CommandError, "1 differences"):
            run("check", stdout=(out := io.StringIO()))
        assert "Wrong rows (timestamp or state unlike what the events give): 1" in (
            out.getvalue()
        )
        assert f"the event is at {right.isoformat()}" in out.getvalue()
        assert "fixed 1 wrong row" in run("rebuild")
        assert index_rows() == self.expected

    def test_rebuild_twice_changes_nothing_the_second_time(self) -> None:
        EventTimestamp.objects.all().delete()
        assert "inserted 15 missing rows" in run("rebuild")
        assert "it was already right" in run("rebuild")
        assert index_rows() == self.expected

    def test_every_batch_size_gives_the_same_index(self) -> None:
        for size in (1, 2, 4, 5, 15, 16, 1000):
            with self.subTest(batch_size=size):
                EventTimestamp.objects.filter(originator_version__in=[1, 5]).delete()
                EventTimestamp.objects.create(
                    application_name="cargotime",
                    originator_id=UUID(int=0),
                    originator_version=1,
                    timestamp=START,
                )
                EventTimestamp.objects.create(
                    application_name="cargotime",
                    originator_id=UUID(int=2**128 - 1),
                    originator_version=1,
                    timestamp=START,
                )
                with self.assertRaisesMessage(CommandError, "8 differences"):
                    run("check", "--batch-size", str(size))
                run("rebuild", "--batch-size", str(size))
                assert index_rows() == self.expected
                run("check", "--batch-size", str(size))

    def test_rebuild_repairs_batch_by_batch_and_resumes_after_a_key(self) -> None:
        EventTimestamp.objects.all().delete()
        indexer = TimestampIndexer(get_application(), batch_size=4)
        batches = indexer.rebuild()
        first = next(batches)
        second = next(batches)
        batches.close()  # Interrupted here: what the two batches did stays.
        assert EventTimestamp.objects.count() == 8
        assert second.last_key is not None
        key = f"{second.last_key[0]}:{second.last_key[1]}"
        output = run("rebuild", "--batch-size", "4", "--after", key)
        assert "inserted 7 missing rows" in output
        assert first.events == second.events == 4
        assert index_rows() == self.expected

    def test_an_interrupted_rebuild_says_how_to_resume(self) -> None:
        EventTimestamp.objects.all().delete()
        repair = TimestampIndexer._repair
        calls = 0

        def interrupt_third_batch(indexer: TimestampIndexer, diff: BatchDiff) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise KeyboardInterrupt
            repair(indexer, diff)

        with (
            mock.patch.object(TimestampIndexer, "_repair", interrupt_third_batch),
            self.assertRaisesMessage(
                CommandError, "Interrupted after 8 events"
            ) as raised,
        ):
            run("rebuild", "--batch-size", "4")
        assert raised.exception.returncode == 130
        assert "--after " in str(raised.exception)
        assert EventTimestamp.objects.count() == 8
        run("rebuild")
        assert index_rows() == self.expected

    def test_events_of_other_aggregates_are_not_indexed(self) -> None:
        self.app.save(Thing())
        run("check")

    def test_rows_of_another_applications_events_are_left_alone(self) -> None:
        other = SearchableTimestampsApplication(name="elsewhere", clock=ticking_clock())
        self.addCleanup(other.close)
        theirs = ship(other, 3, deadline=DEADLINE)
        run("check", "--verbosity", "2")
        assert "it was already right" in run("rebuild")
        assert EventTimestamp.objects.filter(originator_id=theirs).count() == 5

    def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(self) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        bar = run("rebuild", "--batch-size", "5", stdout=Terminal())
        assert "\r[##########....................]  33%  5/15 events" in bar
        assert "\r[##############################] 100%  15/15 events" in bar
        lines = run("rebuild", "--batch-size", "5")
        assert "\r" not in lines
        assert "  5 of 15 events (33%)\n" in lines
        assert "  15 of 15 events (100%)\n" in lines
        assert lines.count("(100%)") == 1

    def test_bad_arguments_get_a_clear_message(self) -> None:
        for args, message in [
            (["rebuild", "--batch-size", "0"], "at most 1,000,000, not '0'"),
            (["check", "--after", "cargo-7"], "expected TRACKING_ID:VERSION"),
            (["repair"], "invalid choice: 'repair'"),
        ]:
            with (
                self.subTest(args=args),
                self.assertRaisesMessage(CommandError, message),
            ):
                run(*args)


class OtherDatabaseTests(TestCase):
    databases = {"default", "secondary"}

    @override_settings(CARGOTIME={"DATABASE_ALIAS": "secondary"})
    def test_the_commands_work_on_the_configured_database(self) -> None:
        app = get_application()
        tracking_id = ship(app, 3, deadline=DEADLINE)
        rows = EventTimestamp.objects.using("secondary")
        rows.filter(originator_id=tracking_id, originator_version=3).delete()
        with self.assertRaisesMessage(CommandError, "1 differences"):
            run("check")
        assert "inserted 1 missing row" in run("rebuild")
        assert rows.filter(originator_id=tracking_id).count() == 5
        assert not EventTimestamp.objects.using("default").exists()


class AdoptionTests(TestCase):
    """A store that plain eventsourcing-django wrote, without the index."""

    def adopt(self, env: dict[str, str]) -> None:
        plain = BookingApplication(env=env, clock=ticking_clock())
        self.addCleanup(plain.close)
        assert plain.name == get_application().name == "cargotime"
        tracking_id = ship(plain, 3, deadline=DEADLINE)
        assert not EventTimestamp.objects.exists()
        with self.assertRaisesMessage(CommandError, "5 differences"):
            run("check")
        assert "inserted 5 missing rows" in run("rebuild", "--batch-size", "2")
        run("check")
        app = get_application()
        with self.assertRaises(AggregateNotFoundError):
            app.get_cargo_at_timestamp(tracking_id, START - timedelta(seconds=1))
        for version in range(1, 6):
            at = START + timedelta(minutes=90) * (version - 1)
            for instant in (at, at + timedelta(minutes=89)):
                cargo = app.get_cargo_at_timestamp(tracking_id, instant)
                assert cargo.version == version
        cargo = app.get_cargo_at_timestamp(tracking_id, START + timedelta(days=30))
        assert cargo.last_known_location is Location.NEWYORK
        assert cargo.transport_status == "IN_PORT"

    def test_rebuild_adopts_events_written_without_the_index(self) -> None:
        self.adopt(PLAIN)

    def test_rebuild_decodes_compressed_and_encrypted_events(self) -> None:
        secrets = {
            key: value
            for key, value in ENCRYPTED.items()
            if key != "PERSISTENCE_MODULE"
        }
        with mock.patch.dict(os.environ, secrets):
            reset_application()
            self.addCleanup(reset_application)
            self.adopt(ENCRYPTED)

    def test_events_the_application_cannot_decode_stop_it_clearly(self) -> None:
        plain = BookingApplication(env=ENCRYPTED, clock=ticking_clock())
        self.addCleanup(plain.close)
        ship(plain, 3, deadline=DEADLINE)
        with self.assertRaisesMessage(CommandError, "Cannot decode the stored event"):
            run("rebuild")
        assert not EventTimestamp.objects.exists()


def reset_application(*args: Any) -> None:
    from django.apps import apps

    config = apps.get_app_config("cargotime")
    assert isinstance(config, CargotimeConfig)
    config.reset_application()
