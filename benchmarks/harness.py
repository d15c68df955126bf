"""Run two variants side by side in alternating rounds, and compare their medians."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# One round of one variant: it runs the workload and returns the round's figure.
Round = Callable[[], float]


@dataclass(frozen=True)
class Comparison:
    """Variant A against variant B, round by round, and the target for A / B."""

    target: int
    title: str
    database: str
    unit: str
    a: str
    b: str
    a_rounds: list[float]
    b_rounds: list[float]
    # A / B must be at least this (higher is better) or at most this (lower is).
    goal: float
    higher_is_better: bool

    @property
    def a_median(self) -> float:
        return statistics.median(self.a_rounds)

    @property
    def b_median(self) -> float:
        return statistics.median(self.b_rounds)

    @property
    def ratios(self) -> list[float]:
        """Return A / B of each round: the two ran next to each other."""
        return [a / b for a, b in zip(self.a_rounds, self.b_rounds, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool:
        if self.higher_is_better:
            return self.ratio >= self.goal
        return self.ratio <= self.goal

    @property
    def goal_text(self) -> str:
        return f"{'≥' if self.higher_is_better else '≤'} {self.goal:g}"

    def as_dict(self) -> dict[str, Any]:
        """Return the comparison, its medians and its ratios, for JSON."""
        return {
            "target": self.target,
            "title": self.title,
            "database": self.database,
            "unit": self.unit,
            "a": self.a,
            "b": self.b,
            "a_rounds": self.a_rounds,
            "b_rounds": self.b_rounds,
            "a_median": self.a_median,
            "b_median": self.b_median,
            "ratios": self.ratios,
            "ratio": self.ratio,
            "goal": self.goal_text,
            "met": self.met,
        }


def alternate(
    a: Round, b: Round, rounds: int, warmup: int = 1
) -> tuple[list[float], list[float]]:
    """Run *a* and *b* for *rounds* rounds each, ordered A B, B A, A B, B A, ...

    Each pair of rounds runs back to back, and which goes first alternates, so that
    a drift of the machine's speed cancels out of the paired ratios. The *warmup*
    rounds before are not kept.
    """
    for _ in range(warmup):
        a()
        b()
    a_figures: list[float] = []
    b_figures: list[float] = []
    for number in range(rounds):
        pair = [(a, a_figures), (b, b_figures)]
        for run, figures in pair if number % 2 == 0 else reversed(pair):
            figures.append(undisturbed(run))
    return a_figures, b_figures


def undisturbed(run: Round) -> float:
    """Return what *run* returns, with no garbage collection while it runs."""
    gc.collect()
    gc.disable()
    try:
        return run()
    finally:
        gc.enable()


def median_ms[T](call: Callable[[T], object], args: Iterable[T]) -> float:
    """Return the median time, in milliseconds, of *call* on each of *args*."""
    samples = []
    for arg in args:
        start = time.perf_counter_ns()
        call(arg)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e6


def per_second[T](call: Callable[[T], int], args: Sequence[T]) -> float:
    """Return how many units per second *call* handles; it returns its units."""
    start = time.perf_counter()
    units = sum(call(arg) for arg in args)
    return units / (time.perf_counter() - start)
