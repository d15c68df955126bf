"""Target 11: the streaming import's peak memory and speed, as a user runs it.

Writes a history file of N events and runs `manage.py import_cargo_history` on it in a
process of its own, whose peak resident memory the kernel reports when it ends. The
file is imported at a fifth of N and at N, side by side: the peak must stay flat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from benchmarks.harness import Comparison
from benchmarks.targets import SMOKE

if TYPE_CHECKING:
    from benchmarks.targets import Bench

ROOT = Path(__file__).resolve().parent.parent
# The ceiling for a 1,000,000-event file, and what the import took before it
# streamed: 690 MB for 200,000 events, all of them in memory until one save.
BUDGET_MB = 150.0
BEFORE = "690 MB at 200,000 events before streaming"
# A million events take about two minutes per database on this machine; the full run
# imports half that, at the same peak (see the README), and a fifth of it beside.
FULL_EVENTS = 500_000
SMOKE_EVENTS = 2_000
# Cargos whose lives overlap in the file, as in an export ordered by time.
IN_FLIGHT = 100
START = datetime(2020, 1, 6, tzinfo=UTC)
ROUTE = {
    "origin": "HONGKONG",
    "destination": "STOCKHOLM",
    "legs": [
        {"origin": "HONGKONG", "destination": "NEWYORK", "voyage_number": "V1"},
        {"origin": "NEWYORK", "destination": "STOCKHOLM", "voyage_number": "V2"},
    ],
}
# A cargo's life after its booking: 7 more events.
LIFE: list[dict[str, Any]] = [
    {"type": "RouteAssigned", "route": ROUTE},
    *(
        {
            "type": "HandlingEventRegistered",
            "handling_activity": activity,
            "location": location,
            "voyage_number": voyage,
        }
        for activity, location, voyage in [
            ("RECEIVE", "HONGKONG", None),
            ("LOAD", "HONGKONG", "V1"),
            ("UNLOAD", "NEWYORK", "V1"),
            ("LOAD", "NEWYORK", "V2"),
            ("UNLOAD", "STOCKHOLM", "V2"),
            ("CLAIM", "STOCKHOLM", None),
        ]
    ),
]
EVENTS_PER_CARGO = 1 + len(LIFE)


@dataclass(frozen=True)
class Run:
    """One import: its size and what it took."""

    events: int
    megabytes: float
    seconds: float
    peak_rss_mb: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


def write_history(path: Path, events: int, in_flight: int = IN_FLIGHT) -> int:
    """Write a file of *events* events, *in_flight* cargos interleaved; return bytes."""
    written = 0
    with path.open("w", encoding="utf-8") as file:
        for start in range(0, events, in_flight * EVENTS_PER_CARGO):
            group = min(in_flight, -(-(events - start) // EVENTS_PER_CARGO))
            cargos = [str(uuid4()) for _ in range(group)]
            at = START + timedelta(minutes=start)
            for step in range(EVENTS_PER_CARGO):
                for number, tracking_id in enumerate(cargos):
                    if written == events:
                        return path.stat().st_size if written else 0
                    fields = _booking(at) if step == 0 else LIFE[step - 1]
                    timestamp = at + timedelta(hours=step, seconds=number)
                    line = {
                        "tracking_id": tracking_id,
                        "timestamp": timestamp.isoformat(),
                        **fields,
                    }
                    file.write(json.dumps(line) + "\n")
                    written += 1
    return path.stat().st_size


def _booking(at: datetime) -> dict[str, Any]:
    return {
        "type": "BookingStarted",
        "origin": "HONGKONG",
        "destination": "STOCKHOLM",
        "arrival_deadline": (at + timedelta(weeks=8)).isoformat(),
    }


def import_file(path: Path, events: int) -> Run:
    """Import *path* with manage.py in a process of its own; return what it took."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchmarks.settings"}
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "import_cargo_history", str(path)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait4 gives this child's own peak, not the largest of every child so far.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode() if process.stderr else ""
    if process.returncode:
        msg = f"import_cargo_history exited {process.returncode}: {errors}"
        raise RuntimeError(msg)
    return Run(
        events=events,
        megabytes=path.stat().st_size / 1e6,
        seconds=seconds,
        # Linux reports ru_maxrss in kilobytes.
        peak_rss_mb=usage.ru_maxrss * 1024 / 1e6,
    )


def measure(events: int) -> Run:
    """Write a file of *events* events, import it, and delete it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        write_history(path, events)
        return import_file(path, events)


def streaming_import(bench: Bench) -> list[Comparison]:
    """Import a fifth of N events, then N: peak RSS flat and within the budget."""
    events = SMOKE_EVENTS if bench.sizes == SMOKE else FULL_EVENTS
    small, large = measure(events // 5), measure(events)
    for run in (small, large):
        print(
            f"  import of {run.events:,} events ({run.megabytes:,.0f} MB): "
            f"{run.per_second:,.0f} events/s, peak RSS {run.peak_rss_mb:,.0f} MB "
            f"({BEFORE})",
            flush=True,
        )
        bench.notes[f"import_{run.events}"] = {
            "events_per_s": round(run.per_second),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
            "seconds": round(run.seconds, 1),
            "file_mb": round(run.megabytes, 1),
        }
    bench.notes["import_before"] = BEFORE

    def compare(
        title: str,
        unit: str,
        a: str,
        b: str,
        pair: tuple[float, float],
        goal: float,
        higher: bool,
    ) -> Comparison:
        return Comparison(
            target=11,
            title=title,
            database=bench.database,
            unit=unit,
            a=a,
            b=b,
            a_rounds=[pair[0]],
            b_rounds=[pair[1]],
            goal=goal,
            higher_is_better=higher,
        )

    return [
        compare(
            "import: peak RSS within the budget",
            "MB",
            f"import {large.events:,} events",
            "budget",
            (large.peak_rss_mb, BUDGET_MB),
            1.0,
            False,
        ),
        compare(
            "import: peak RSS flat with the file",
            "MB",
            f"import {large.events:,} events",
            f"import {small.events:,}",
            (large.peak_rss_mb, small.peak_rss_mb),
            1.2,
            False,
        ),
        compare(
            "import: speed kept on a larger file",
            "events/s",
            f"import {large.events:,} events",
            f"import {small.events:,}",
            (large.per_second, small.per_second),
            0.8,
            True,
        ),
    ]
