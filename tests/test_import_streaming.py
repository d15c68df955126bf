"""The import streams: bounded memory, one transaction, progress and a summary."""

from __future__ import annotations

import gc
import io
import json
import re
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import translation
from eventsourcing.application import AggregateNotFoundError
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

from cargotime import importer as importer_module
from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.apps import get_application
from cargotime.domain import Cargo
from cargotime.importer import (
    MAX_LINE_CHARS,
    HistoryError,
    ImportSummary,
    import_history,
    iter_json_lines,
)
from cargotime.models import EventTimestamp
from tests.test_importer import LEGS, ImportTestCase, booking, handling, routed


def cargo(number: int) -> UUID:
    return UUID(int=number + 1_000)


def history(cargos: int, *, first: int = 0) -> list[dict[str, Any]]:
    """Book and route *cargos* cargos, one after the other: two lines each."""
    lines = []
    for number in range(first, first + cargos):
        lines += [booking(cargo(number), 0), routed(cargo(number), 1)]
    return lines


def lines_of(events: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(event) for event in events]


class Saves:
    """A saved() callback: how often the import saved, and what it had done then."""

    def __init__(self) -> None:
        self.events: list[int] = []

    def __call__(self, summary: ImportSummary) -> None:
        self.events.append(summary.events)


def nothing_stored() -> bool:
    return not (
        StoredEventRecord.objects.exists()
        or EventTimestamp.objects.exists()
        or SnapshotRecord.objects.exists()
    )


class StreamingTests(TestCase):
    def setUp(self) -> None:
        self.app = get_application()

    def run_api(
        self, events: list[dict[str, Any]], **options: Any
    ) -> tuple[ImportSummary, Saves]:
        saves = Saves()
        summary = import_history(
            self.app, iter_json_lines(lines_of(events)), saved=saves, **options
        )
        return summary, saves

    def test_a_file_is_saved_as_it_is_read(self) -> None:
        summary, saves = self.run_api(history(50), held_cargos=10, events_per_save=30)
        assert (summary.booked, summary.continued, summary.events) == (50, 0, 100)
        # Saved batch by batch, never more than 30 events unsaved.
        assert len(saves.events) > 3
        assert saves.events == sorted(saves.events)
        assert all(
            b - a <= 30 for a, b in zip([0, *saves.events], saves.events, strict=False)
        )
        assert StoredEventRecord.objects.count() == 100
        assert EventTimestamp.objects.count() == 100
        call_command("timestamp_index", "check", stdout=io.StringIO())

    def test_a_bad_line_late_in_the_file_stores_nothing(self) -> None:
        events = history(300)
        events.append(routed(cargo(999), 5))
        with self.assertRaisesMessage(HistoryError, "line 601: cargo") as raised:
            self.run_api(events, held_cargos=20, events_per_save=50)
        assert raised.exception.line == 601
        assert nothing_stored()

    def test_a_cargo_spread_over_the_file_is_read_back_and_counted_once(self) -> None:
        stored = cargo(500)
        self.run_api([booking(stored, 0), routed(stored, 0.5)])
        events = [handling(stored, 1, "RECEIVE", "HONGKONG", None)]
        # Routing comes far after the booking: each cargo left memory meanwhile.
        events += [booking(cargo(n), 0) for n in range(10)]
        events += [routed(cargo(n), 2) for n in range(10)]
        events += [handling(stored, 3, "LOAD", "HONGKONG", "V1")]
        events += [
            handling(cargo(n), 4, "RECEIVE", "HONGKONG", None) for n in range(10)
        ]
        summary, _ = self.run_api(events, held_cargos=3, events_per_save=1_000)
        assert (summary.booked, summary.continued, summary.events) == (10, 1, 32)
        for number in range(10):
            assert self.app.get_cargo(cargo(number)).version == 3
        assert self.app.get_cargo(stored).version == 4
        call_command("timestamp_index", "check", stdout=io.StringIO())

    def test_checks_hold_for_a_cargo_that_left_memory(self) -> None:
        spread = [booking(cargo(0), 10), *history(3, first=1)]
        for line, message in [
            (
                booking(cargo(0), 11),
                f"line 8: cargo {cargo(0)} is already stored or booked further up "
                "the file",
            ),
            (routed(cargo(0), 9), "goes back before its last stored event"),
        ]:
            with self.subTest(message=message):
                with self.assertRaisesMessage(HistoryError, message):
                    self.run_api([*spread, line], held_cargos=2)
                assert nothing_stored()

    def test_at_most_the_cargos_held_are_in_memory(self) -> None:
        # Counted at every save: the cargos alive are those the import holds.
        kept: list[int] = []
        saves = Saves()

        def count(summary: ImportSummary) -> None:
            saves(summary)
            if len(saves.events) % 5 == 0:
                gc.collect()
                kept.append(sum(isinstance(o, Cargo) for o in gc.get_objects()))

        import_history(
            self.app,
            iter_json_lines(lines_of(history(60))),
            held_cargos=10,
            events_per_save=1_000,
            saved=count,
        )
        assert len(kept) > 5
        assert max(kept) <= 10, kept

    def test_memory_does_not_grow_with_the_file(self) -> None:
        def peak(cargos: int, first: int) -> int:
            events = history(cargos, first=first)
            text = lines_of(events)
            gc.collect()
            tracemalloc.start()
            try:
                import_history(
                    self.app,
                    iter_json_lines(iter(text)),
                    held_cargos=20,
                    events_per_save=100,
                )
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        # The lines themselves are made before; a file ten times longer may not
        # take ten times the memory to import.
        small = peak(100, first=0)
        large = peak(1_000, first=10_000)
        assert large < 2 * small, (small, large)

    def test_the_repository_cache_keeps_no_imported_cargo(self) -> None:
        app = SearchableTimestampsApplication(
            env={**SearchableTimestampsApplication.env, "AGGREGATE_CACHE_MAXSIZE": "0"}
        )
        self.addCleanup(app.close)
        assert app.repository.cache is not None
        import_history(app, iter_json_lines(lines_of(history(40))), held_cargos=5)
        assert not app.repository.cache.cache
        assert app.get_cargo(cargo(39)).version == 2

    @override_settings(DEBUG=True)
    def test_the_query_log_of_debug_mode_does_not_grow(self) -> None:
        connection.queries_log.clear()
        summary, saves = self.run_api(history(200), held_cargos=10)
        assert summary.events == 400
        assert len(saves.events) > 10
        # One query per cargo at least was made; the log holds what came after the
        # last save.
        assert len(connection.queries_log) < 10

    def test_a_recorder_without_transactions_saves_once_at_the_end(self) -> None:
        app = BookingApplication()
        self.addCleanup(app.close)
        saves = Saves()
        events = [*history(30), routed(cargo(999), 5)]
        with self.assertRaisesMessage(HistoryError, "line 61"):
            import_history(
                app, iter_json_lines(lines_of(events)), held_cargos=2, saved=saves
            )
        assert saves.events == []
        with self.assertRaises(AggregateNotFoundError):
            app.get_cargo(cargo(0))
        summary = import_history(app, iter_json_lines(lines_of(history(30))))
        assert summary.booked == 30
        assert app.get_cargo(cargo(29)).version == 2

    def test_nonsense_limits_are_refused(self) -> None:
        with self.assertRaises(ValueError):
            import_history(self.app, [], held_cargos=0)
        with self.assertRaises(ValueError):
            import_history(self.app, [], events_per_save=0)


class AllOrNothingTests(TransactionTestCase):
    """Committed for real, or rolled back for real: no test transaction around."""

    def test_a_bad_line_after_many_saves_rolls_everything_back(self) -> None:
        app = get_application()
        saves = Saves()
        events = [*history(400), "{broken"]
        text = [e if isinstance(e, str) else json.dumps(e) for e in events]
        with self.assertRaisesMessage(HistoryError, "line 801: not valid JSON"):
            import_history(
                app,
                iter_json_lines(text),
                held_cargos=50,
                events_per_save=100,
                saved=saves,
            )
        assert len(saves.events) > 5
        assert nothing_stored()
        summary = import_history(app, iter_json_lines(text[:-1]), held_cargos=50)
        assert summary.booked == 400
        assert StoredEventRecord.objects.count() == 800
        assert EventTimestamp.objects.count() == 800


class CommandOutputTests(ImportTestCase):
    def big_file(self, cargos: int = 1_500) -> str:
        # More cargos than the command holds: it saves a batch a tenth of the way.
        return self.write(*history(cargos))

    def test_a_log_gets_a_line_every_tenth_of_the_way(self) -> None:
        output = self.run_import(self.big_file())
        assert "\r" not in output
        shares = [int(s) for s in re.findall(r"MB read \((\d+)%\)", output)]
        assert len(shares) >= 3, output
        assert shares == sorted(set(shares))
        assert shares[-1] == 100
        assert output.count("(100%)") == 1

    def test_a_terminal_gets_the_bar(self) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        out = Terminal()
        call_command("import_cargo_history", self.big_file(), stdout=out)
        output = out.getvalue()
        assert re.search(r"\r\[#{0,30}\.+\] +\d+%  [\d.]+/[\d.]+ MB", output), output
        assert "\r[##############################] 100%  " in output
        assert "MB read" not in output

    def test_the_summary_counts_cargos_events_seconds_and_speed(self) -> None:
        output = self.run_import(self.big_file())
        assert (
            "Imported 3,000 events: booked 1,500 new cargos and continued 0." in output
        )
        assert re.search(
            r"1,500 cargos, 3,000 events in [\d.]+ s: [\d,]+ events/s\.", output
        ), output

    def test_the_summary_and_progress_speak_german(self) -> None:
        with translation.override("de"):
            output = self.run_import(self.big_file())
        assert (
            "3.000 Ereignisse importiert: 1.500 neue Sendungen gebucht und 0 "
            "fortgesetzt." in output
        )
        assert re.search(r"1\.500 Sendungen, 3\.000 Ereignisse in [\d,]+ s", output)
        assert "MB gelesen (100%)" in output

    def test_quiet_shows_no_progress(self) -> None:
        out = io.StringIO()
        call_command("import_cargo_history", self.big_file(), stdout=out, verbosity=0)
        assert "%" not in out.getvalue()

    def test_a_bad_line_late_in_a_big_file_imports_nothing(self) -> None:
        path = Path(self.big_file())
        with path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(routed(cargo(99_999), 3)) + "\n")
        with self.assertRaisesMessage(CommandError, "line 3001: cargo") as raised:
            self.run_import(str(path))
        assert str(raised.exception).endswith("Nothing was imported.")
        assert nothing_stored()

    def test_text_that_is_not_utf8_late_in_a_file_imports_nothing(self) -> None:
        path = Path(self.big_file())
        with path.open("ab") as file:
            file.write(b'{"type": "\xff"}\n')
        with self.assertRaisesMessage(CommandError, "is not UTF-8 text"):
            self.run_import(str(path))
        assert nothing_stored()


class HostileInputTests(ImportTestCase):
    """What a file made to hurt, or a careless shell, does to the command."""

    def assert_refused(self, path: str, message: str) -> CommandError:
        with self.assertRaisesMessage(CommandError, message) as raised:
            self.run_import(path)
        error: CommandError = raised.exception
        assert str(error).endswith("Nothing was imported."), error
        assert nothing_stored()
        return error

    def test_a_line_without_an_end_is_refused_before_it_is_read_whole(self) -> None:
        # Iterating the file read the line whole: a 100 MB line took 270 MB.
        path = self.folder / "endless.jsonl"
        with path.open("w", encoding="utf-8") as file:
            file.write(json.dumps(booking(cargo(0))) + "\n")
            file.write('{"tracking_id": "' + "a" * 3_000_000)
        gc.collect()
        tracemalloc.start()
        try:
            self.assert_refused(
                str(path),
                "line 2: the line is longer than 10,000 characters, more than any "
                "event needs",
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000, peak

    def test_the_python_api_refuses_a_long_line_from_a_file_or_a_list(self) -> None:
        long = json.dumps({**booking(cargo(0)), "origin": "X" * MAX_LINE_CHARS})
        text = io.StringIO(json.dumps(booking(cargo(1))) + "\n" + long + "\n")
        sources: list[Iterable[str]] = [text, ["", long]]
        for lines in sources:
            with self.subTest(lines=type(lines).__name__):
                with self.assertRaisesMessage(HistoryError, "line 2: the line is"):
                    import_history(get_application(), iter_json_lines(lines))
                assert nothing_stored()
        # The longest line taken, with either line end.
        line = json.dumps(routed(cargo(1), 1))
        line += " " * (MAX_LINE_CHARS - len(line))
        file = io.StringIO(json.dumps(booking(cargo(1))) + "\r\n" + line + "\r\n")
        summary = import_history(get_application(), iter_json_lines(file))
        assert summary.events == 2

    def test_long_lines_are_saved_sooner_than_ten_thousand_events(self) -> None:
        # Ten thousand routes of ten thousand characters each took 480 MB.
        legs = [
            {"origin": "NEWYORK", "destination": "NEWYORK", "voyage_number": f"W{n}"}
            for n in range(100)
        ]
        route = {
            "origin": "HONGKONG",
            "destination": "STOCKHOLM",
            "legs": [LEGS[0], *legs, LEGS[1]],
        }
        events = [booking(cargo(n), 0) for n in range(5)]
        events += [
            {**routed(cargo(n % 5), 1 + n // 5), "route": route} for n in range(40)
        ]
        size = len(json.dumps(events[-1]))
        saves = Saves()
        import_history(
            get_application(),
            iter_json_lines(lines_of(events)),
            chars_per_save=5 * size,
            saved=saves,
        )
        gaps = [b - a for a, b in zip([0, *saves.events], saves.events, strict=False)]
        # The five short bookings, then a save every five routes.
        assert gaps[0] == 10, saves.events
        assert max(gaps[1:]) <= 5, saves.events
        assert get_application().get_cargo(cargo(4)).version == 9

    def test_a_long_value_is_quoted_in_part(self) -> None:
        # The message quoted a 10 MB voyage number whole.
        path = self.write(
            booking(cargo(0), 0),
            routed(cargo(0), 1),
            handling(cargo(0), 2, "LOAD", "HONGKONG", "V" * 9_000),
        )
        error = self.assert_refused(str(path), "line 3: No leg of the cargo's route")
        assert len(str(error)) < 700, len(str(error))
        assert " [\u2026] " in str(error)

    def test_a_byte_order_mark_is_utf8_text(self) -> None:
        # Was "not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)".
        path = self.folder / "bom.jsonl"
        path.write_bytes(
            b"\xef\xbb\xbf" + json.dumps(booking(cargo(0))).encode() + b"\r\n"
        )
        output = self.run_import(str(path))
        assert "Imported 1 event: booked 1 new cargo and continued 0." in output
        # And a single event is no plural: was "1 cargo, 1 events in".
        assert re.search(r"1 cargo, 1 event in [\d.]+ s", output), output

    def test_json_errors_say_where_and_why_in_plain_words(self) -> None:
        head = json.dumps(booking(cargo(0)))
        for line, message in [
            # Was "Invalid control character at." with no place.
            (
                head[:20] + "\x00" + head[20:],
                "line 2: not valid JSON: Invalid control character at column 21.",
            ),
            ("\x00", "line 2: not valid JSON: Expecting value at column 1."),
            # Was Python's advice to call sys.set_int_max_str_digits().
            (
                "9" * 5_000,
                "line 2: not valid JSON: it holds a number of more than 4,300 digits.",
            ),
        ]:
            with self.subTest(message=message):
                self.assert_refused(self.write(booking(cargo(1)), line), message)

    def test_standard_input_closed_is_said_so(self) -> None:
        # Was a TypeError traceback: `manage.py import_cargo_history - <&-`.
        with mock.patch("sys.stdin", None):
            self.assert_refused("-", "Standard input is closed")

    def test_a_reader_that_goes_away_neither_stops_nor_undoes_the_import(
        self,
    ) -> None:
        # `import_cargo_history big.jsonl | head -1` rolled the import back, blaming
        # the file: "Cannot read big.jsonl: Broken pipe."
        class ClosedPipe(io.StringIO):
            def write(self, text: str) -> int:
                raise BrokenPipeError(32, "Broken pipe")

        call_command(
            "import_cargo_history", self.write(*history(1_500)), stdout=ClosedPipe()
        )
        assert StoredEventRecord.objects.count() == 3_000
        call_command("timestamp_index", "check", stdout=io.StringIO())

    def test_a_database_that_fails_is_said_so(self) -> None:
        # Was a raw OperationalError traceback, such as SQLite's "database is locked".
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TABLE " + connection.ops.quote_name(EventTimestamp._meta.db_table)
            )
        with self.assertRaisesMessage(
            CommandError, ": the database failed ("
        ) as raised:
            self.run_import(self.write(*history(2)))
        assert str(raised.exception).endswith("Nothing was imported.")
        assert not StoredEventRecord.objects.exists()

    def test_an_interrupted_import_stores_nothing_and_says_so(self) -> None:
        # Ctrl-C was a traceback (nothing was stored: that held).
        calls = 0
        real = importer_module.parse_event

        def interrupted(line: int, data: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 2_500:
                raise KeyboardInterrupt
            return real(line, data)

        with (
            mock.patch.object(importer_module, "parse_event", interrupted),
            self.assertRaisesMessage(
                CommandError, "Interrupted. Nothing was imported."
            ) as raised,
        ):
            self.run_import(self.write(*history(1_500)))
        assert raised.exception.returncode == 130
        assert nothing_stored()

    def test_a_folder_or_a_missing_file_cannot_be_read(self) -> None:
        with self.assertRaisesMessage(CommandError, "Is a directory."):
            self.run_import(str(self.folder))
        with self.assertRaisesMessage(CommandError, "No such file or directory."):
            self.run_import(str(self.folder / "missing.jsonl"))
