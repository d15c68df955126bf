"""The results of a run as a table: medians, paired ratios and the targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADERS = ("#", "Target", "DB", "A", "median A", "B", "median B", "A/B", "goal", "met")


def table(runs: Sequence[dict[str, Any]]) -> str:
    """Return a Markdown table of every comparison of *runs*, then the machine."""
    rows = [
        (
            str(c["target"]),
            c["title"],
            c["database"],
            c["a"],
            figure(c["a_median"], c["unit"]),
            c["b"],
            figure(c["b_median"], c["unit"]),
            f"{c['ratio']:.2f}",
            c["goal"],
            "yes" if c["met"] else "NO",
        )
        for target in sorted({c["target"] for run in runs for c in run["comparisons"]})
        for run in runs
        for c in run["comparisons"]
        if c["target"] == target
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = [_line(HEADERS, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in rows]
    for run in runs:
        lines.append("")
        lines.append(machine(run))
        if run.get("smoke"):
            lines.append("(smoke run: tiny sizes, the figures mean nothing)")
    return "\n".join(lines)


def figure(value: float, unit: str) -> str:
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}"
    if unit == "MB":
        return f"{value:,.1f} MB"
    return f"{value:.3f} ms"


def machine(run: dict[str, Any]) -> str:
    v = run["versions"]
    return (
        f"{run['database']}: {v['cpus']} CPUs ({v['cpu']}), Python {v['python']}, "
        f"{v['database']}, Django {v['django']}, eventsourcing {v['eventsourcing']}, "
        f"eventsourcing-django {v['eventsourcing-django']}, psycopg {v['psycopg']}; "
        f"snapshot every {run['snapshot_interval']} events; {run['seconds']} s"
    )


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return (
        "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
    )
