"""Load as a deployment sees it: gunicorn on PostgreSQL, time-travel readers, writers.

Each mode runs on a database of its own, created and dropped here. gunicorn serves the
demo project (project.wsgi) with production settings; clients ask for the time-travel
JSON over HTTP while writer processes book and handle cargos through the application.
Every answer is then held against the replay of the stored events, and every event a
writer saw committed must be stored and indexed. `make load` runs:

    python -m tests.load_http --seconds 20 --replica-env build/replica.env
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from queue import Empty
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Recording

from benchmarks.stores import LIFE
from cargotime.application import SearchableTimestampsApplication
from tests.load import book_routed_cargo, command
from tests.load_replay import Answer, Committed, Question, Step
from tests.load_servers import (
    GRACE,
    ROOT,
    create_database,
    database_url,
    drop_database,
    gunicorn,
    scans,
    wait_for_schema,
)
from tests.processes import SPAWN, spawn

LOGS = ROOT / "build" / "load"
# Cargos every writer also changes now and then: their conflicts are expected.
SHARED_CARGOS = 2
SHARED_SHARE = 0.1
# Cargos a writer keeps under way at once.
UNDER_WAY = 3


@dataclass(frozen=True)
class Plan:
    """One mode of the load: where it runs and how hard."""

    mode: str
    primary_url: str
    replica_url: str | None
    seconds: float
    clients: int
    writers: int
    workers: int
    settings: str = "project.settings"

    @property
    def database(self) -> str:
        # A suffix of its own per run, as the test databases have.
        return f"cargotime_load{os.environ.get('CARGOTIME_TEST_DB_SUFFIX', '')}"


@dataclass
class ModeResult:
    """The figures and problems of one mode."""

    mode: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    events: int = 0
    conflicts: int = 0
    mismatches: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    replica_scans: int | None = None

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.lost or self.errors) or not self.latencies

    def percentile(self, share: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100)[share - 1]


def production_environment(plan: Plan) -> dict[str, str]:
    """Return the environment of gunicorn, the writers and the checks."""
    environ = {
        "DJANGO_SETTINGS_MODULE": plan.settings,
        # Set, so that a .env that `make run` wrote cannot turn debug on.
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Behind a proxy that terminates TLS, as in production; the clients say so.
        "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
        "DATABASE_URL": database_url(plan.primary_url, plan.database),
        # Each worker keeps its connections, as a deployment does: logging in to one
        # or two servers for every request would be most of what is measured.
        "DATABASE_CONN_MAX_AGE": "60",
    }
    if plan.replica_url:
        environ["DATABASE_REPLICA_URL"] = database_url(plan.replica_url, plan.database)
    return environ


class Knowledge:
    """The events the writers saw committed, per cargo: what the clients may ask for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, dict[int, datetime]] = {}
        self._cargos: list[str] = []
        self.committed: list[Committed] = []

    def learn(self, event: Committed) -> None:
        with self._lock:
            if event.tracking_id not in self._events:
                self._events[event.tracking_id] = {}
                self._cargos.append(event.tracking_id)
            self._events[event.tracking_id][event.version] = event.timestamp
            self.committed.append(event)

    def pick(self, rng: random.Random) -> tuple[str, dict[int, datetime]] | None:
        """Return a cargo and the versions known committed, with their timestamps."""
        with self._lock:
            if not self._cargos:
                return None
            tracking_id = rng.choice(self._cargos)
            return tracking_id, dict(self._events[tracking_id])


def ask(
    rng: random.Random, tracking_id: str, known: dict[int, datetime], now: datetime
) -> Question:
    """Return a question on the cargo: now, in its past, at an event, before it."""
    first = min(known.values())
    roll = rng.random()
    version = None
    if roll < 0.5:
        at: datetime | None = now
    elif roll < 0.75:
        at = first + (now - first) * rng.random()
    elif roll < 0.9:
        # An event's own instant: the boundary is inclusive.
        at = known[rng.choice(list(known))]
    elif roll < 0.95:
        at, version = None, rng.choice(list(known))
    else:
        at = first - timedelta(microseconds=1)
    if at is None:
        return Question(tracking_id, version=version, known=version or 0)
    seen = [number for number, when in known.items() if when <= at]
    return Question(tracking_id, at=at, known=max(seen, default=0))


def fetch(address: str, path: str, session: str, question: Question) -> Answer:
    """Ask the server *question*; a failed request is an answer with status 0."""
    query: dict[str, str] = {"tracking_id": question.tracking_id, "format": "json"}
    if question.at is not None:
        query["at"] = question.at.isoformat()
    else:
        query["version"] = str(question.version)
    host, port = address.rsplit(":", 1)
    started = time.perf_counter()
    body: Any = None
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=GRACE)
        try:
            connection.request(
                "GET",
                f"{path}?{urlencode(query)}",
                headers={"X-Forwarded-Proto": "https", "Cookie": session},
            )
            response = connection.getresponse()
            status, raw = response.status, response.read()
        finally:
            connection.close()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"not JSON": raw[:200].decode(errors="replace")}
    except OSError as error:
        status, body = 0, {"transport error": repr(error)}
    return Answer(question, status, body, time.perf_counter() - started)


def read(
    number: int,
    address: str,
    path: str,
    session: str,
    knowledge: Knowledge,
    deadline: float,
    answers: list[Answer],
) -> None:
    """Ask question after question until *deadline*; keep the answers."""
    rng = random.Random(f"client-{number}")
    while time.monotonic() < deadline:
        picked = knowledge.pick(rng)
        if picked is None:
            time.sleep(0.01)
            continue
        question = ask(rng, *picked, datetime.now(UTC))
        answers.append(fetch(address, path, session, question))


class ObservedApplication(SearchableTimestampsApplication):
    """The application, telling its observer of each event once it is committed."""

    observer: Queue[tuple[str, Any]] | None = None

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        if self.observer is not None:
            self.observer.put(
                ("event", [committed(r.domain_event) for r in recordings])
            )


def committed(event: Any) -> Committed:
    from cargotime.admin.display import event_name

    return Committed(
        str(event.originator_id),
        event.originator_version,
        event.timestamp,
        event_name(event),
    )


def observed_application(
    observer: Queue[tuple[str, Any]] | None,
) -> ObservedApplication:
    """Build the application as get_application() does, observed."""
    from cargotime import conf

    app = ObservedApplication(
        env={
            **SearchableTimestampsApplication.env,
            "DJANGO_DB_ALIAS": conf.database_alias(),
        },
        clock=conf.clock(),
        name=conf.application_name(),
        snapshot_interval=conf.snapshot_interval(),
    )
    app.observer = observer
    return app


def write(
    name: str,
    seconds: float,
    shared: list[UUID],
    events: Queue[tuple[str, Any]],
    start: Event,
) -> None:
    """Book and handle cargos for *seconds* after *start*; a process of its own."""
    rng = random.Random(name)
    app = observed_application(events)
    under_way: dict[UUID, int] = {}
    conflicts = 0
    errors: list[str] = []
    events.put(("ready", name))
    try:
        if not start.wait(GRACE):
            errors.append("never told to start")
        deadline = time.monotonic() + seconds
        while not errors and time.monotonic() < deadline:
            try:
                if rng.random() < SHARED_SHARE:
                    command(app, rng, rng.choice(shared))
                elif len(under_way) < UNDER_WAY:
                    under_way[book_routed_cargo(app)] = 0
                else:
                    tracking_id = rng.choice(list(under_way))
                    step = under_way[tracking_id]
                    app.register_handling_event(tracking_id, *LIFE[step])
                    under_way[tracking_id] = step + 1
                    if step + 1 == len(LIFE):
                        del under_way[tracking_id]
            except IntegrityError:
                conflicts += 1
            except Exception as error:  # Anything else fails the run: keep it to show.
                where = traceback.extract_tb(error.__traceback__)[-1]
                errors.append(f"{name}: {error!r} at {where.filename}:{where.lineno}")
    finally:
        events.put(("done", (conflicts, errors)))
        app.close()


def drive(plan: Plan, address: str, session: str, result: ModeResult) -> None:
    """Run the clients and the writers for the plan's seconds, then check it all."""
    from django.urls import reverse

    path = reverse("admin:cargotime_time_travel")
    knowledge = Knowledge()
    app = observed_application(None)
    shared = [book_routed_cargo(app) for _ in range(SHARED_CARGOS)]
    for tracking_id in shared:
        for stored in app.recorder.select_events(tracking_id):
            knowledge.learn(committed(app.mapper.to_domain_event(stored)))
    app.close()
    # Two requests a worker, unmeasured: each worker has loaded the project.
    warm_up = [
        threading.Thread(
            target=fetch,
            args=(address, path, session, Question(str(shared[0]), version=1)),
        )
        for _ in range(2 * plan.workers)
    ]
    for thread in warm_up:
        thread.start()
    for thread in warm_up:
        thread.join()

    events: Queue[tuple[str, Any]] = SPAWN.Queue()
    start = SPAWN.Event()
    names = [f"writer-{n}" for n in range(plan.writers)]
    writers: list[SpawnProcess] = [
        spawn(f"{__name__}.write", name, plan.seconds, shared, events, start)
        for name in names
    ]
    answers: list[Answer] = []
    try:
        for _ in names:
            events.get(timeout=GRACE)  # "ready"
        start.set()
        started = time.monotonic()
        deadline = started + plan.seconds
        clients = [
            threading.Thread(
                target=read,
                args=(n, address, path, session, knowledge, deadline, answers),
                name=f"client-{n}",
            )
            for n in range(plan.clients)
        ]
        for client in clients:
            client.start()
        collect(events, len(names), deadline + GRACE, knowledge, result)
        for client in clients:
            client.join()
        result.seconds = time.monotonic() - started
    finally:
        start.set()
        for writer in writers:
            writer.join(GRACE)
            if writer.is_alive():
                writer.kill()
                writer.join(GRACE)
    result.latencies = [answer.seconds for answer in answers]
    result.statuses = Counter(answer.status for answer in answers)
    verify(answers, knowledge, result)


def collect(
    events: Queue[tuple[str, Any]],
    writers: int,
    deadline: float,
    knowledge: Knowledge,
    result: ModeResult,
) -> None:
    """Learn each committed event as the writers report it, until all are done."""
    done = 0
    while done < writers:
        try:
            kind, payload = events.get(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            result.errors.append(f"{writers - done} writers never finished")
            return
        if kind == "event":
            for event in payload:
                knowledge.learn(event)
            result.events += len(payload)
        elif kind == "done":
            done += 1
            conflicts, errors = payload
            result.conflicts += conflicts
            result.errors.extend(errors)


def verify(answers: list[Answer], knowledge: Knowledge, result: ModeResult) -> None:
    """Hold every answer against the stored events; look for every committed event."""
    from django.core.management.base import CommandError

    from cargotime.apps import get_application
    from tests.load import index_check
    from tests.load_replay import check_answer, indexed_rows, lost_events, replay

    app = get_application()
    tracking_ids = {c.tracking_id for c in knowledge.committed}
    steps: dict[str, list[Step]] = {
        tracking_id: replay(app, UUID(tracking_id)) for tracking_id in tracking_ids
    }
    for answer in answers:
        result.mismatches += check_answer(
            answer, steps.get(answer.question.tracking_id, [])
        )
    result.lost += lost_events(
        knowledge.committed, steps, indexed_rows(app, tracking_ids)
    )
    try:
        index_check()
    except CommandError as error:
        result.lost.append(f"timestamp_index check: {error}")


def run_mode(plan: Plan, results: Queue[ModeResult]) -> None:
    """Run one mode, in a process of its own, on a database made for it."""
    # A polite kill still stops gunicorn and drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    result = ModeResult(plan.mode)
    environ = production_environment(plan)
    try:
        create_database(plan.primary_url, plan.database)
        os.environ.update(environ)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        if plan.replica_url and "replica" not in settings.DATABASES:
            msg = "project/settings.py does not read DATABASE_REPLICA_URL."
            raise RuntimeError(msg)
        call_command("migrate", verbosity=0)
        if plan.replica_url:
            wait_for_schema(plan.replica_url, plan.database)
            before = scans(plan.replica_url, plan.database)
        session = staff_session()
        log = LOGS / f"{plan.mode}-gunicorn.log"
        with gunicorn(plan.workers, environ, log) as address:
            drive(plan, address, session, result)
        if plan.replica_url:
            # Counted once gunicorn's sessions have ended and reported them.
            result.replica_scans = scans(plan.replica_url, plan.database) - before
            if not result.replica_scans:
                # A mode with a replica that the replica never served is no such mode.
                result.errors.append(
                    "The replica served no read: does CARGOTIME['READ_DATABASE_ALIAS'] "
                    "name it?"
                )
    except Exception as error:
        result.errors.append(f"{type(error).__name__}: {error}")
        traceback.print_exc()
    finally:
        from django.db import connections

        connections.close_all()
        try:
            drop_database(plan.primary_url, plan.database)
        except Exception as error:
            result.errors.append(f"dropping {plan.database}: {error}")
        results.put(result)


def staff_session() -> str:
    """Return the Cookie header of a superuser's session, signed as the server signs."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser(
        "load", password=secrets.token_urlsafe(16)
    )
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def table(results: list[ModeResult]) -> str:
    """Return the figures of each mode, one row a mode."""
    head = (
        "mode",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "events written",
        "events/s",
        "conflicts",
        "mismatches",
        "lost",
    )
    rows = [head]
    for r in results:
        seconds = r.seconds or float("nan")
        rows.append(
            (
                r.mode,
                f"{len(r.latencies):,}",
                f"{len(r.latencies) / seconds:,.0f}",
                f"{r.percentile(50) * 1000:.1f}",
                f"{r.percentile(95) * 1000:.1f}",
                f"{r.percentile(99) * 1000:.1f}",
                f"{r.events:,}",
                f"{r.events / seconds:,.0f}",
                f"{r.conflicts:,}",
                f"{len(r.mismatches):,}",
                f"{len(r.lost):,}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        " | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def read_env_file(path: Path) -> dict[str, str]:
    """Return the KEY=VALUE lines of *path*."""
    pairs = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() and not key.lstrip().startswith("#"):
            pairs[key.strip()] = value.strip()
    return pairs


def positive(kind: type[int] | type[float]) -> Any:
    """Return an argparse type: a number of *kind* above zero."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            msg = f"expected a {kind.__name__} above zero, not {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def plans(argv: list[str] | None) -> list[Plan]:
    """Return the modes the command line asks for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=positive(float),
        default=os.environ.get("LOAD_SECONDS") or "20",
        help="how long each mode runs (default: LOAD_SECONDS, else 20)",
    )
    parser.add_argument("--clients", type=positive(int), default=16)
    parser.add_argument("--writers", type=positive(int), default=4)
    parser.add_argument("--workers", type=positive(int), default=4)
    parser.add_argument(
        "--replica-env",
        type=Path,
        help="build/replica.env of `bash .ci/replica start`: adds a mode that reads "
        "its replica, and both modes run on its primary",
    )
    parser.add_argument(
        "--database-url",
        help="the PostgreSQL server without a replica (default: the replica's "
        "primary, else DATABASE_URL, else the local server)",
    )
    parser.add_argument(
        "--settings",
        default="project.settings",
        help="the settings module gunicorn serves with (default: the demo project's)",
    )
    options = parser.parse_args(argv)
    servers = {}
    if options.replica_env:
        if not options.replica_env.is_file():
            parser.error(
                f"{options.replica_env} does not exist: run `bash .ci/replica start`."
            )
        servers = read_env_file(options.replica_env)
        if not {"CARGOTIME_PRIMARY_URL", "CARGOTIME_REPLICA_URL"} <= set(servers):
            parser.error(
                f"{options.replica_env} names no CARGOTIME_PRIMARY_URL and "
                "CARGOTIME_REPLICA_URL."
            )
    # One primary for both modes, when it can be: the replica is then the difference.
    primary = (
        options.database_url
        or servers.get("CARGOTIME_PRIMARY_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://cargotime:cargotime@127.0.0.1:5432/cargotime"
    )
    base = Plan(
        "primary",
        primary,
        None,
        options.seconds,
        options.clients,
        options.writers,
        options.workers,
        options.settings,
    )
    if not servers:
        return [base]
    with_replica = replace(
        base,
        mode="replica",
        primary_url=servers["CARGOTIME_PRIMARY_URL"],
        replica_url=servers["CARGOTIME_REPLICA_URL"],
    )
    return [base, with_replica]


def wait_for_result(
    process: SpawnProcess, queue: Queue[ModeResult], seconds: float
) -> ModeResult:
    """Return what the mode's process reports, or say that it never did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = process.is_alive()
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not alive:
                break
    why = f"exit code {process.exitcode}" if process.exitcode is not None else "hung"
    return ModeResult(process.name, errors=[f"the mode never reported ({why})"])


def main(argv: list[str] | None = None) -> int:
    """Run each mode, print the table, and return 1 on any mismatch, loss or error."""
    modes = plans(argv)
    base = modes[0]
    print(
        f"Load: gunicorn with {base.workers} workers, {base.clients} clients asking "
        f"for the time-travel JSON, {base.writers} writer processes; "
        f"{base.seconds:g} s a mode."
    )
    results = []
    for plan in modes:
        print(f"== {plan.mode}: {plan.primary_url.rsplit('@', 1)[-1]}", flush=True)
        queue: Queue[ModeResult] = SPAWN.Queue()
        process = SPAWN.Process(target=run_mode, args=(plan, queue), name=plan.mode)
        process.start()
        result = wait_for_result(process, queue, plan.seconds + 5 * GRACE)
        process.join(GRACE)
        if process.is_alive():
            process.terminate()
            process.join(GRACE)
        results.append(result)
    print(table(results))
    for result in results:
        statuses = ", ".join(
            f"{count:,} × {status or 'no answer'}"
            for status, count in sorted(result.statuses.items())
        )
        print(f"{result.mode}: answers by status: {statuses or 'none'}.")
        if result.replica_scans is not None:
            print(
                f"{result.mode}: the replica ran {result.replica_scans:,} table and "
                "index scans for the load (the reads it served)."
            )
        for problem in [*result.errors, *result.mismatches, *result.lost][:20]:
            print(f"PROBLEM ({result.mode}): {problem}", file=sys.stderr)
    failed = any(result.failed for result in results)
    print(
        "verdict: "
        + ("FAILED" if failed else "every answer matches the replay; nothing lost")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    # Through the module's own name: what the mode processes send back unpickles.
    from tests.load_http import main as run

    sys.exit(run())
