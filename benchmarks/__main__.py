"""Run the benchmarks on SQLite and PostgreSQL; print the table; write the JSON.

python -m benchmarks                  # the full run (a few minutes)
python -m benchmarks --smoke          # seconds: every code path, tiny sizes
python -m benchmarks --databases sqlite
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import table
from benchmarks.run import ALL_TARGETS

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no timing")
    parser.add_argument(
        "--databases",
        default="sqlite,postgres",
        help="comma-separated: sqlite,postgres",
    )
    parser.add_argument("--snapshot-interval", type=int, default=None)
    parser.add_argument("--targets", default=ALL_TARGETS, help="comma-separated")
    args = parser.parse_args()

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for database in args.databases.split(","):
            output = Path(scratch) / f"{database}.json"
            command = [
                sys.executable,
                "-m",
                "benchmarks.run",
                "--database",
                database,
                "--output",
                str(output),
            ]
            command += ["--targets", args.targets]
            if args.smoke:
                command.append("--smoke")
            if args.snapshot_interval:
                command += ["--snapshot-interval", str(args.snapshot_interval)]
            print(f"== {database} ==", flush=True)
            subprocess.run(command, check=True)
            runs.append(json.loads(output.read_text()))

    print(table(runs))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / (f"smoke-{stamp}.json" if args.smoke else f"bench-{stamp}.json")
    path.write_text(json.dumps(runs, indent=2))
    print(f"Results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
