"""Run the targets on one database, in a process of its own; write the results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.harness import Comparison
    from benchmarks.targets import Bench

ROOT = Path(__file__).resolve().parent.parent
# What the library reads from os.environ overrides the env an application is given.
LIBRARY_KEYS = ("PERSISTENCE_MODULE", "IS_SNAPSHOTTING_ENABLED", "DJANGO_DB_ALIAS")
ALL_TARGETS = "1,2,3,4,5,6,7,8,9,10,11"


@dataclass(frozen=True)
class Databases:
    """The run's databases: SQLite files in a folder, or PostgreSQL databases."""

    engine: str
    prefix: str

    @property
    def folder(self) -> Path:
        return ROOT / "build" / self.prefix

    def create(self) -> dict[str, str]:
        """Start from empty databases; return the env of the library's recorders."""
        self.drop()
        if self.engine == "sqlite":
            self.folder.mkdir(parents=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.folder / "library.sqlite3"),
            }
        with self._server() as server:
            for name in self._names():
                server.execute(f'CREATE DATABASE "{name}"')
        credentials = self._credentials()
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": f"{self.prefix}_library",
            "POSTGRES_HOST": credentials["host"],
            "POSTGRES_PORT": credentials["port"],
            "POSTGRES_USER": credentials["user"],
            "POSTGRES_PASSWORD": credentials["password"],
        }

    def drop(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.engine == "postgres":
            with self._server() as server:
                for name in self._names():
                    server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _names(self) -> list[str]:
        from benchmarks.settings import ALIASES

        return [f"{self.prefix}_{alias}" for alias in (*ALIASES, "library")]

    def _credentials(self) -> dict[str, str]:
        import dj_database_url

        from benchmarks.settings import PG_URL

        config = dj_database_url.parse(PG_URL)
        return {
            "host": str(config.get("HOST") or "127.0.0.1"),
            "port": str(config.get("PORT") or 5432),
            "user": str(config.get("USER")),
            "password": str(config.get("PASSWORD")),
        }

    def _server(self) -> Any:
        import psycopg

        credentials = self._credentials()
        return psycopg.connect(
            host=credentials["host"],
            port=credentials["port"],
            user=credentials["user"],
            password=credentials["password"],
            dbname="postgres",
            autocommit=True,
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--snapshot-interval", type=int, default=None)
    parser.add_argument("--targets", default=ALL_TARGETS)
    args = parser.parse_args(argv)
    chosen = {int(number) for number in args.targets.split(",")}

    for key in LIBRARY_KEYS:
        os.environ.pop(key, None)
    # A smoke run may share the machine with another (CI, a colleague's `make test`);
    # BENCH_PREFIX keeps two full runs on one machine apart.
    full = os.environ.get("BENCH_PREFIX") or "cargotime_bench"
    prefix = f"cargotime_benchsmoke_{os.getpid()}" if args.smoke else full
    databases = Databases(args.database, prefix)
    os.environ["BENCH_DATABASE"] = args.database
    os.environ["BENCH_DATA_DIR"] = str(databases.folder)
    os.environ["BENCH_POSTGRES_PREFIX"] = prefix
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"

    started = time.monotonic()
    library_env = databases.create()
    try:
        results = run(args, chosen, library_env)
    finally:
        # The figures and plans are in the results; the million-row store need not stay.
        from django.db import connections

        connections.close_all()
        databases.drop()
    results["seconds"] = round(time.monotonic() - started, 1)
    args.output.write_text(json.dumps(results, indent=2, default=str))


def run(
    args: argparse.Namespace, chosen: set[int], library_env: dict[str, str]
) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks import fleet, import_memory, stores, targets
    from benchmarks.settings import ALIASES
    from cargotime.application import DEFAULT_SNAPSHOT_INTERVAL

    for alias in ALIASES:
        call_command("migrate", database=alias, verbosity=0)
    interval = args.snapshot_interval or DEFAULT_SNAPSHOT_INTERVAL
    bench = targets.Bench(
        database=args.database,
        sizes=targets.SMOKE if args.smoke else targets.Sizes(),
        snapshot_interval=interval,
    )
    esdjango = stores.eventsourcing_django("esdjango")
    library = stores.library(library_env)
    steps: list[tuple[int, Callable[[], Comparison | list[Comparison] | None]]] = [
        (1, lambda: targets.command_path(bench, esdjango)),
        (2, lambda: targets.bulk_path(bench, library)),
        (3, lambda: targets.short_time_travel(bench, library)),
        (4, lambda: targets.store_size(bench)),
        (5, lambda: targets.history_length(bench)),
        (6, lambda: targets.admin_requests(bench)),
        (7, lambda: targets.picker_search(bench)),
        (8, lambda: fleet.peer(bench)),
        (9, lambda: fleet.naive_loop(bench)),
        (10, lambda: fleet.scale(bench)),
        (11, lambda: import_memory.streaming_import(bench)),
    ]
    comparisons = []
    for number, step in steps:
        # 5 and 6 read the 10-event cargos that 3 stores; 7 searches 4's stores.
        needed = (number == 3 and chosen & {5, 6}) or (number == 4 and 7 in chosen)
        if number in chosen or needed:
            began = time.monotonic()
            result = step()
            if number not in chosen:
                pass
            elif isinstance(result, list):
                comparisons += [comparison.as_dict() for comparison in result]
            elif result is not None:
                comparisons.append(result.as_dict())
            print(f"  target {number}: {time.monotonic() - began:.1f} s", flush=True)
    for app in (esdjango, library):
        app.close()
    return {
        "database": args.database,
        "smoke": args.smoke,
        "snapshot_interval": interval,
        "targets": sorted(chosen),
        "sizes": vars(bench.sizes),
        "versions": versions(),
        "notes": bench.notes,
        "plans": lookup_plans(bench) if 4 in chosen else {},
        "fleet_plans": fleet.plans(bench) if chosen & {8, 10} else {},
        "comparisons": comparisons,
    }


def lookup_plans(bench: Bench) -> list[str]:
    """Return how the large store's database plans the time-travel query."""
    from django.db import connections
    from eventsourcing_django.models import SnapshotRecord, StoredEventRecord

    from benchmarks.stores import START
    from cargotime.models import EventTimestamp
    from cargotime.sql import select_at_timestamp

    connection = connections["large"]
    statement = select_at_timestamp(StoredEventRecord, EventTimestamp, SnapshotRecord)
    tracking_id = bench.short[0].tracking_id
    params: dict[str, Any] = {"at": START, "app": "cargotime", "id": tracking_id}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            params["id"] = tracking_id.hex
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            return [row[3] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN {statement}", params)
        return [row[0] for row in cursor.fetchall()]


def versions() -> dict[str, str]:
    """Return the machine and the versions the figures were measured with."""
    from importlib.metadata import version

    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            (server,) = cursor.fetchone()
        else:
            server = sqlite3.sqlite_version
    return {
        "cpus": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "database": f"{connection.vendor} {server}",
        "django": version("django"),
        "eventsourcing": version("eventsourcing"),
        "eventsourcing-django": version("eventsourcing-django"),
        "psycopg": version("psycopg"),
    }


def cpu_model() -> str:
    lscpu = shutil.which("lscpu")
    output = (
        subprocess.run([lscpu], capture_output=True, text=True).stdout if lscpu else ""
    )
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main(sys.argv[1:])
