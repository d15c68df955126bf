"""Many writers on the same and on different cargos, from threads and processes.

The load test runs it for a few seconds; `make load` runs it longer on a database of
its own and prints the figures:

    DATABASE_URL=postgres://... python -m tests.load --seconds 30
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from queue import Empty
from typing import Any
from uuid import UUID

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from eventsourcing.persistence import IntegrityError

from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, HandlingActivity, Location
from tests.processes import SPAWN, spawn

ROUTE = REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0]
# Each cargo is booked and routed before the writers start.
SETUP_VERSION = 2
LOCATIONS = list(Location)
# How long a writer may take to start, or to stop after its time is up, before the
# run counts it as hung.
GRACE = 60.0


@dataclass
class WriterReport:
    """What one writer did: events saved per cargo, conflicts, any other error."""

    name: str
    saved: Counter[UUID] = field(default_factory=Counter)
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(self.saved.values())


@dataclass
class LoadResult:
    """The reports of every writer that finished, and the names of those that hung."""

    seconds: float
    writers: list[str]
    reports: list[WriterReport]
    shared: list[UUID]
    own: dict[str, UUID]
    # Writers whose database connections were still open when they were done.
    left_open: list[str]

    @property
    def hung(self) -> list[str]:
        finished = {report.name for report in self.reports}
        return [name for name in self.writers if name not in finished]

    @property
    def events(self) -> int:
        return sum(report.events for report in self.reports)

    @property
    def conflicts(self) -> int:
        return sum(report.conflicts for report in self.reports)

    @property
    def errors(self) -> list[str]:
        return [f"{r.name}: {error}" for r in self.reports for error in r.errors]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def conflict_rate(self) -> float:
        attempts = self.events + self.conflicts
        return self.conflicts / attempts if attempts else 0.0

    def saved_per_cargo(self) -> Counter[UUID]:
        total: Counter[UUID] = Counter()
        for report in self.reports:
            total.update(report.saved)
        return total


class ConnectionLog:
    """Note each connection opened in this process, and the thread that opened it."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, BaseDatabaseWrapper]] = []

    def __enter__(self) -> ConnectionLog:
        connection_created.connect(self.note)
        return self

    def __exit__(self, *exc_info: object) -> None:
        connection_created.disconnect(self.note)

    def note(self, sender: object, connection: BaseDatabaseWrapper, **kw: Any) -> None:
        self.opened.append((threading.current_thread().name, connection))

    def left_open(self, writers: list[str]) -> list[str]:
        """Return the writers that opened a connection and left it open."""
        return sorted(
            {
                name
                for name, connection in self.opened
                if name in writers and connection.connection is not None
            }
        )


def book_routed_cargo(app: SearchableTimestampsApplication) -> UUID:
    deadline = datetime.now(UTC) + timedelta(weeks=4)
    tracking_id = app.book_new_cargo(Location.HONGKONG, Location.STOCKHOLM, deadline)
    app.assign_route(tracking_id, ROUTE)
    return tracking_id


def command(
    app: SearchableTimestampsApplication, rng: random.Random, tracking_id: UUID
) -> None:
    """Issue one command that is valid on any routed cargo: one event."""
    kind = rng.randrange(4)
    if kind == 0:
        app.change_destination(tracking_id, rng.choice(LOCATIONS))
    elif kind == 1:
        location = rng.choice(LOCATIONS)
        app.register_handling_event(
            tracking_id, None, location, HandlingActivity.RECEIVE
        )
    elif kind == 2:
        app.register_handling_event(
            tracking_id, "V1", Location.NEWYORK, HandlingActivity.UNLOAD
        )
    else:
        app.assign_route(tracking_id, ROUTE)


def write(
    app: SearchableTimestampsApplication,
    name: str,
    seconds: float,
    shared: list[UUID],
    own: UUID,
    start: Event,
) -> WriterReport:
    """Write until *seconds* after *start*: half to shared cargos, half to *own*."""
    rng = random.Random(name)
    report = WriterReport(name)
    try:
        if not start.wait(GRACE):
            report.errors.append("never told to start")
            return report
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            tracking_id = rng.choice(shared) if rng.random() < 0.5 else own
            try:
                command(app, rng, tracking_id)
            except IntegrityError:
                report.conflicts += 1
            except Exception as error:  # Anything else fails the run: keep it to show.
                where = traceback.extract_tb(error.__traceback__)[-1]
                report.errors.append(
                    f"{type(error).__module__}.{error!r} "
                    f"at {where.filename}:{where.lineno}"
                )
            else:
                report.saved[tracking_id] += 1
    finally:
        # This thread's connection, which nothing else would close.
        connections.close_all()
    return report


def run_threads(
    app: SearchableTimestampsApplication,
    names: list[str],
    seconds: float,
    shared: list[UUID],
    own: dict[str, UUID],
    start: Event,
) -> tuple[list[threading.Thread], list[WriterReport]]:
    reports: list[WriterReport] = []

    def target(name: str) -> None:
        reports.append(write(app, name, seconds, shared, own[name], start))

    threads = [
        # Daemons, so that a hung writer fails the run instead of hanging the suite.
        threading.Thread(target=target, args=(name,), name=name, daemon=True)
        for name in names
    ]
    for thread in threads:
        thread.start()
    return threads, reports


def process_main(
    names: list[str],
    seconds: float,
    shared: list[UUID],
    own: dict[str, UUID],
    ready: Queue[str],
    start: Event,
    results: Queue[tuple[list[WriterReport], list[str]]],
) -> None:
    """Run writer threads in a child process, on its own application and connections."""
    from cargotime.apps import get_application

    app = get_application()
    with ConnectionLog() as log:
        threads, reports = run_threads(app, names, seconds, shared, own, start)
        ready.put(names[0])
        for thread in threads:
            thread.join(seconds + 2 * GRACE)
    results.put((reports, log.left_open(names)))
    app.close()


def run_load(
    app: SearchableTimestampsApplication,
    *,
    seconds: float,
    threads: int = 8,
    processes: int = 3,
    threads_per_process: int = 2,
    shared_cargos: int = 2,
) -> LoadResult:
    """Write from *threads* threads here and from *processes* processes at once."""
    here = [f"thread-{n}" for n in range(threads)]
    there = [
        [f"process-{p}-thread-{n}" for n in range(threads_per_process)]
        for p in range(processes)
    ]
    writers = here + [name for names in there for name in names]
    shared = [book_routed_cargo(app) for _ in range(shared_cargos)]
    own = {name: book_routed_cargo(app) for name in writers}
    ready: Queue[str] = SPAWN.Queue()
    results: Queue[tuple[list[WriterReport], list[str]]] = SPAWN.Queue()
    start = SPAWN.Event()
    children: list[SpawnProcess] = [
        spawn(
            f"{__name__}.process_main",
            names,
            seconds,
            shared,
            own,
            ready,
            start,
            results,
        )
        for names in there
    ]
    reports: list[WriterReport] = []
    left_open: list[str] = []
    try:
        for _ in children:
            ready.get(timeout=GRACE)
        with ConnectionLog() as log:
            local, reports = run_threads(app, here, seconds, shared, own, start)
            started = time.monotonic()
            start.set()
            for thread in local:
                thread.join(max(0.0, started + seconds + GRACE - time.monotonic()))
        left_open = log.left_open(here)
        for _ in children:
            try:
                theirs, their_left_open = results.get(timeout=GRACE)
            except Empty:
                break
            reports.extend(theirs)
            left_open.extend(their_left_open)
        elapsed = time.monotonic() - started
    finally:
        for child in children:
            child.join(GRACE)
            if child.is_alive():
                child.kill()
                child.join(GRACE)
    return LoadResult(
        seconds=min(elapsed, seconds),
        writers=writers,
        reports=list(reports),
        shared=shared,
        own=own,
        left_open=left_open,
    )


def version_problems(
    app: SearchableTimestampsApplication, result: LoadResult
) -> list[str]:
    """Return each cargo whose version is not its setup plus the events saved to it."""
    saved = result.saved_per_cargo()
    problems = []
    for tracking_id in [*result.shared, *result.own.values()]:
        expected = SETUP_VERSION + saved[tracking_id]
        version = app.get_cargo(tracking_id).version
        if version != expected:
            problems.append(
                f"{tracking_id}: version {version}, but {expected} events were saved"
            )
    return problems


def index_check() -> str:
    """Return the report of `timestamp_index check`, or raise CommandError."""
    out = io.StringIO()
    call_command("timestamp_index", "check", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def time_travel_problems(
    app: SearchableTimestampsApplication, tracking_ids: list[UUID]
) -> tuple[int, list[str]]:
    """Look every event of the cargos up at its own timestamp: (count, problems)."""
    problems = []
    looked_up = 0
    for tracking_id in tracking_ids:
        events: list[Any] = [
            app.mapper.to_domain_event(stored)
            for stored in app.recorder.select_events(tracking_id)
        ]
        moments = [(e.originator_version, e.timestamp) for e in events]
        # "State at T" is the highest (timestamp, version) at or before T.
        expected: dict[datetime, int] = {}
        for version, at in moments:
            expected[at] = max(expected.get(at, 0), version)
        for version, at in moments:
            want = max(v for when, v in expected.items() if when <= at)
            got = app.get_cargo_at_timestamp(tracking_id, at).version
            looked_up += 1
            if got != want:
                problems.append(
                    f"{tracking_id} v{version} at {at.isoformat()}: time travel "
                    f"gave v{got}, not v{want}"
                )
    return looked_up, problems


def summary(vendor: str, result: LoadResult, threads: int, processes: int) -> str:
    in_processes = len(result.writers) - threads
    return "\n".join(
        [
            f"Load on {vendor} for {result.seconds:.1f} s: {threads} threads here and "
            f"{processes} processes with {in_processes} threads, "
            f"{len(result.shared)} shared cargos and one own cargo per writer.",
            f"  events saved   {result.events:>9,}  ({result.events_per_second:,.0f} "
            "events/s)",
            f"  conflicts      {result.conflicts:>9,}  ({result.conflict_rate:.1%} of "
            "attempts, each an IntegrityError)",
            f"  other errors   {len(result.errors):>9,}",
            f"  hung writers   {len(result.hung):>9,}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the load on a fresh database of its own and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--threads-per-process", type=int, default=2)
    parser.add_argument("--shared-cargos", type=int, default=2)
    options = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("CARGOTIME_TEST_DB_SUFFIX", "_loadrun")
    import django

    django.setup()
    from django.db import connection

    from cargotime.apps import get_application

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        app = get_application()
        result = run_load(
            app,
            seconds=options.seconds,
            threads=options.threads,
            processes=options.processes,
            threads_per_process=options.threads_per_process,
            shared_cargos=options.shared_cargos,
        )
        print(summary(connection.vendor, result, options.threads, options.processes))
        problems = [*result.errors, *(f"hung: {name}" for name in result.hung)]
        problems += version_problems(app, result)
        problems += [f"connection left open by {name}" for name in result.left_open]
        try:
            index_check()
        except CommandError as error:
            problems.append(f"timestamp_index check: {error}")
            print("  index check    differs")
        else:
            print("  index check    matches every stored event")
        print(f"  left open      {len(result.left_open):>9,}  writers' connections")
        started = time.monotonic()
        looked_up, travel = time_travel_problems(
            app, [*result.shared, *result.own.values()]
        )
        problems += travel
        print(
            f"  time travel    {looked_up:>9,}  events looked up at their own "
            f"timestamps in {time.monotonic() - started:.1f} s"
        )
        for problem in problems[:20]:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        print("  verdict        " + ("FAILED" if problems else "all checks pass"))
        return 1 if problems else 0
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
