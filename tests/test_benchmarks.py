"""The benchmarks' harness: rounds in A B B A order, paired ratios, the table."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

from django.test import SimpleTestCase

from benchmarks.harness import Comparison, alternate, median_ms, per_second
from benchmarks.report import table


def comparison(
    a: list[float], b: list[float], *, goal: float, higher_is_better: bool
) -> Comparison:
    return Comparison(
        target=1,
        title="Something",
        database="sqlite",
        unit="events/s" if higher_is_better else "ms",
        a="ours",
        b="theirs",
        a_rounds=a,
        b_rounds=b,
        goal=goal,
        higher_is_better=higher_is_better,
    )


class TestAlternate(SimpleTestCase):
    def test_rounds_run_a_b_then_b_a_after_a_warmup(self) -> None:
        calls: list[str] = []

        def variant(name: str, figures: list[float]) -> Callable[[], float]:
            def run() -> float:
                calls.append(name)
                return figures[len([c for c in calls if c == name]) - 1]

            return run

        a, b = alternate(
            variant("A", [0.0, 1.0, 2.0, 3.0, 4.0]),
            variant("B", [0.0, 10.0, 20.0, 30.0, 40.0]),
            rounds=4,
        )
        assert "".join(calls) == "AB" + "AB" + "BA" + "AB" + "BA"
        assert a == [1.0, 2.0, 3.0, 4.0]
        assert b == [10.0, 20.0, 30.0, 40.0]

    def test_timers_measure_what_they_are_given(self) -> None:
        # A scripted clock: each call takes 1, 5 and 3 ms; the median is 3 ms.
        ticks = iter([0, 1_000_000, 10_000_000, 15_000_000, 20_000_000, 23_000_000])
        with mock.patch("benchmarks.harness.time.perf_counter_ns", lambda: next(ticks)):
            assert median_ms(lambda _: None, range(3)) == 3.0
        # 2 + 3 units in half a second: 10 a second.
        moments = iter([100.0, 100.5])
        with mock.patch("benchmarks.harness.time.perf_counter", lambda: next(moments)):
            assert per_second(lambda units: units, [2, 3]) == 10.0


class TestComparison(SimpleTestCase):
    def test_the_ratio_is_the_median_of_each_rounds_ratio(self) -> None:
        # Round by round A is 0.9, 1.0 and 2.0 times B; the medians' ratio is not.
        result = comparison(
            [9.0, 20.0, 200.0], [10.0, 20.0, 100.0], goal=0.95, higher_is_better=True
        )
        assert result.ratios == [0.9, 1.0, 2.0]
        assert result.ratio == 1.0
        assert result.a_median == 20.0
        assert result.met

    def test_goals_both_ways(self) -> None:
        faster = comparison([1.0, 1.0], [2.0, 2.0], goal=1.0, higher_is_better=False)
        slower = comparison([3.0, 3.0], [2.0, 2.0], goal=1.0, higher_is_better=False)
        assert faster.met
        assert not slower.met
        assert slower.goal_text == "≤ 1"
        assert slower.as_dict()["met"] is False

    def test_the_table_shows_medians_ratios_and_misses(self) -> None:
        result = comparison([3.0, 3.0], [2.0, 2.0], goal=1.0, higher_is_better=False)
        run = {
            "database": "sqlite",
            "snapshot_interval": 20,
            "seconds": 1.0,
            "smoke": True,
            "versions": dict.fromkeys(
                [
                    "cpus",
                    "cpu",
                    "python",
                    "database",
                    "django",
                    "eventsourcing",
                    "eventsourcing-django",
                    "psycopg",
                ],
                "x",
            ),
            "comparisons": [result.as_dict()],
        }
        text = table([run])
        assert "| 1 | Something | sqlite | ours | 3.000 ms" in text
        assert "| 1.50 | ≤ 1  | NO " in text
        assert "smoke run" in text


class TestTable(SimpleTestCase):
    def test_every_target_is_listed_the_fleets_included(self) -> None:
        results = []
        for number in (7, 8, 10):
            result = comparison([1.0], [2.0], goal=1.0, higher_is_better=False)
            results.append({**result.as_dict(), "target": number})
        run = {
            "database": "sqlite",
            "snapshot_interval": 20,
            "seconds": 1.0,
            "versions": dict.fromkeys(
                [
                    "cpus",
                    "cpu",
                    "python",
                    "database",
                    "django",
                    "eventsourcing",
                    "eventsourcing-django",
                    "psycopg",
                ],
                "x",
            ),
            "comparisons": results,
        }
        lines = table([run]).splitlines()
        assert [line.split("|")[1].strip() for line in lines[2:5]] == ["7", "8", "10"]
