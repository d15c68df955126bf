"""Check the timestamp index against the stored cargo events, or rebuild it."""

from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from cargotime.apps import get_application
from cargotime.index import (
    BatchDiff,
    IndexRow,
    Key,
    TimestampIndexer,
    UndecodableEventError,
)
from cargotime.management.progress import Progress

# Versions are stored in a 64-bit column; a batch past a million events would only
# hold a transaction and its memory longer.
MAX_VERSION = 2**63 - 1
MAX_BATCH_SIZE = 1_000_000
# How many differences of each kind the report lists before it only counts.
SHOWN = 10


def resume_key(value: str) -> Key:
    """Parse TRACKING_ID:VERSION, as the command prints it when interrupted."""
    tracking_id, _, version = value.rpartition(":")
    try:
        key = UUID(tracking_id), int(version)
    except ValueError:
        key = None
    if key is None or not 0 <= key[1] <= MAX_VERSION:
        msg = f"expected TRACKING_ID:VERSION, such as the one printed, not {value!r}"
        raise ArgumentTypeError(msg)
    return key


def batch_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_BATCH_SIZE:
        msg = (
            f"expected a whole number of events, at least 1 and at most "
            f"{MAX_BATCH_SIZE:,}, not {value!r}"
        )
        raise ArgumentTypeError(msg)
    return size


class Totals:
    def __init__(self) -> None:
        self.events = 0
        self.counts = {"missing": 0, "extra": 0, "wrong": 0}
        self.shown: dict[str, list[str]] = {"missing": [], "extra": [], "wrong": []}

    @property
    def differences(self) -> int:
        return sum(self.counts.values())

    def add(self, diff: BatchDiff) -> None:
        self.events += diff.events
        self._note("missing", [_missing(row) for row in diff.missing[:SHOWN]])
        self._note("extra", [_extra(row) for row in diff.extra[:SHOWN]])
        self._note("wrong", [_wrong(row, want) for row, want in diff.wrong[:SHOWN]])
        self.counts["missing"] += len(diff.missing)
        self.counts["extra"] += len(diff.extra)
        self.counts["wrong"] += len(diff.wrong)

    def _note(self, kind: str, lines: list[str]) -> None:
        shown = self.shown[kind]
        shown.extend(lines[: SHOWN - len(shown)])


def _missing(row: IndexRow) -> str:
    return (
        f"{row.originator_id} v{row.originator_version}: no row "
        f"(the event is at {row.timestamp.isoformat()})"
    )


def _extra(row: IndexRow) -> str:
    return (
        f"{row.originator_id} v{row.originator_version}: a row at "
        f"{row.timestamp.isoformat()}, but no such stored cargo event"
    )


def _wrong(row: IndexRow, wanted: IndexRow) -> str:
    columns = row.differences(wanted)
    if columns == ["timestamp"]:
        return (
            f"{row.originator_id} v{row.originator_version}: the row says "
            f"{row.timestamp.isoformat()}, the event is at "
            f"{wanted.timestamp.isoformat()}"
        )
    return (
        f"{row.originator_id} v{row.originator_version}: the row's "
        f"{', '.join(columns)} differ from the cargo the events rebuild"
    )


class Command(BaseCommand):
    help = (
        "check: compare the timestamp index with the stored cargo events, exiting "
        "non-zero with a report when they differ. rebuild: repair the index from the "
        "stored events, batch by batch (safe to interrupt and to run again)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["check", "rebuild"])
        parser.add_argument(
            "--batch-size",
            type=batch_size,
            default=1000,
            help="Stored events per batch; each rebuild batch is one transaction.",
        )
        parser.add_argument(
            "--after",
            type=resume_key,
            metavar="TRACKING_ID:VERSION",
            help="Skip the events up to this one, as printed by an interrupted run.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app = get_application()
        indexer = TimestampIndexer(app, batch_size=options["batch_size"])
        action: str = options["action"]
        self.verbosity: int = options["verbosity"]
        total = indexer.count_events()
        if self.verbosity:
            verb = {"check": "Checking", "rebuild": "Rebuilding"}[action]
            self.stdout.write(
                f"{verb} the timestamp index of {total:,} stored "
                f"cargo events of {indexer.application_name!r} in database "
                f"{indexer.using!r}."
            )
        walk = indexer.check if action == "check" else indexer.rebuild
        totals = Totals()
        started = time.monotonic()
        try:
            for diff in self._progress(walk(options["after"]), totals, total):
                totals.add(diff)
        except UndecodableEventError as error:
            raise CommandError(str(error)) from error
        except KeyboardInterrupt:
            self._interrupted(action, totals)
        elapsed = time.monotonic() - started
        if action == "check":
            self._report_check(totals, elapsed)
        else:
            self._report_rebuild(totals, elapsed)

    def _progress(
        self, diffs: Iterator[BatchDiff], totals: Totals, total: int
    ) -> Iterator[BatchDiff]:
        self.last_key: Key | None = None
        progress = Progress(
            self.stdout,
            total,
            bar=lambda done, total: f"{done:,}/{total:,} events",
            line=lambda done, total: f"{done:,} of {total:,} events",
        )
        for diff in diffs:
            yield diff
            self.last_key = diff.last_key
            if self.verbosity:
                progress.show(totals.events, finished=diff.last_key is None)
        if self.verbosity:
            progress.close()

    def _interrupted(self, action: str, totals: Totals) -> None:
        if self.last_key is None:
            where = "before the first batch was done"
            again = f"Run `timestamp_index {action}` again."
        else:
            key = f"{self.last_key[0]}:{self.last_key[1]}"
            where = f"after {totals.events:,} events, up to {key}"
            again = (
                f"Run `timestamp_index {action}` again, or add `--after {key}` to skip "
                "what is done."
            )
        done = " Every batch before that is committed." if action == "rebuild" else ""
        raise CommandError(f"Interrupted {where}.{done} {again}", returncode=130)

    def _report_check(self, totals: Totals, elapsed: float) -> None:
        titles = {
            "missing": "Missing rows (stored events without an index row)",
            "extra": "Extra rows (index rows without a stored cargo event)",
            "wrong": "Wrong rows (timestamp or state unlike what the events give)",
        }
        for kind, title in titles.items():
            count = totals.counts[kind]
            if not count:
                continue
            self.stdout.write(f"{title}: {count:,}")
            for line in totals.shown[kind]:
                self.stdout.write(f"  {line}")
            if count > len(totals.shown[kind]):
                self.stdout.write(f"  … and {count - len(totals.shown[kind]):,} more")
        if totals.differences:
            raise CommandError(
                f"The timestamp index does not match the {totals.events:,} stored "
                f"cargo events: {totals.differences:,} differences. Run "
                "`python manage.py timestamp_index rebuild` to repair it."
            )
        if self.verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"The timestamp index matches the {totals.events:,} stored cargo "
                    f"events ({elapsed:.1f} s)."
                )
            )

    def _report_rebuild(self, totals: Totals, elapsed: float) -> None:
        if not self.verbosity:
            return
        counts = totals.counts
        if totals.differences:
            done = (
                f"inserted {_rows(counts['missing'], 'missing')}, fixed "
                f"{_rows(counts['wrong'], 'wrong')} and deleted "
                f"{_rows(counts['extra'], 'extra')}"
            )
        else:
            done = "it was already right"
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt the timestamp index of {totals.events:,} stored cargo events "
                f"in {elapsed:.1f} s: {done}."
            )
        )


def _rows(count: int, kind: str) -> str:
    return f"{count:,} {kind} row{'' if count == 1 else 's'}"
