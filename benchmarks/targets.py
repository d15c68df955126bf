"""The targets of issues 5 and 9, each measured as A / B in alternating rounds.

1 to 7 here; the fleet's, 8 to 10, in benchmarks/fleet.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from eventsourcing.application import Application

from benchmarks import stores
from benchmarks.harness import Comparison, alternate, median_ms, per_second
from benchmarks.stores import History
from cargotime.admin.picker import (
    CARGOS_PER_PAGE,
    describe_cargos,
    find_cargos,
    page_of,
)
from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, Cargo, Location
from cargotime.persistence import SearchableTimestampsRecorder


@dataclass(frozen=True)
class Sizes:
    """How much each target does: the full run's, or the smoke test's."""

    rounds: int = 16
    command_saves: int = 100
    bulk_saves: int = 10
    reads: int = 200
    cargos: int = 50
    small_store: int = 10_000
    large_store: int = 1_000_000
    long_history: int = 10_000
    admin_store: int = 100_000
    requests: int = 100
    # The fleet (issue 9): cargos of 10 index rows in the small and large stores, the
    # rounds of their slowest comparisons, and the naive loop's cargos of real events.
    fleet_small: int = 10_000
    fleet_large: int = 100_000
    fleet_rounds: int = 7
    fleet_calls: int = 10
    loop_cargos: int = 10_000
    loop_rounds: int = 3


SMOKE = Sizes(
    rounds=2,
    command_saves=3,
    bulk_saves=1,
    reads=5,
    cargos=3,
    small_store=100,
    large_store=1_000,
    long_history=150,
    admin_store=500,
    requests=3,
    fleet_small=60,
    fleet_large=200,
    fleet_rounds=2,
    fleet_calls=2,
    loop_cargos=30,
    loop_rounds=1,
)


@dataclass
class Bench:
    """The run's database, sizes and applications, and the cargos built so far."""

    database: str
    sizes: Sizes
    snapshot_interval: int | None
    random: random.Random = field(default_factory=lambda: random.Random(5))
    short: list[History] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def cargotime(self, alias: str = "default") -> SearchableTimestampsApplication:
        return stores.cargotime(alias, self.snapshot_interval)

    def comparison(
        self,
        target: int,
        title: str,
        unit: str,
        variants: tuple[
            tuple[str, Callable[[], float]], tuple[str, Callable[[], float]]
        ],
        goal: float,
        *,
        higher_is_better: bool,
        rounds: int | None = None,
    ) -> Comparison:
        (a_name, a_round), (b_name, b_round) = variants
        a_figures, b_figures = alternate(
            a_round, b_round, min(rounds or self.sizes.rounds, self.sizes.rounds)
        )
        return Comparison(
            target=target,
            title=title,
            database=self.database,
            unit=unit,
            a=a_name,
            b=b_name,
            a_rounds=a_figures,
            b_rounds=b_figures,
            goal=goal,
            higher_is_better=higher_is_better,
        )

    def instants(self, histories: list[History]) -> list[tuple[History, datetime]]:
        """Return random instants within the histories, one per read of a round."""
        picks = []
        for _ in range(self.sizes.reads):
            history = self.random.choice(histories)
            first, last = history.instants[0], history.instants[-1]
            span = (last - first).total_seconds() + 60
            picks.append(
                (history, first + timedelta(seconds=self.random.uniform(0, span)))
            )
        return picks


def command_path(bench: Bench, baseline: BookingApplication) -> list[Comparison]:
    """1. A user's commands, each a read and a save, against eventsourcing-django.

    The second line keeps the save alone: a cargo already in memory, saved.
    """
    return [commands(bench, baseline), saves_only(bench, baseline)]


def cargo_life(app: BookingApplication) -> int:
    """Run a cargo's life through *app*'s commands, booking to claim; return them."""
    tracking_id = app.book_new_cargo(
        Location.HONGKONG, Location.STOCKHOLM, stores.DEADLINE
    )
    app.change_destination(tracking_id, Location.AUMEL)
    app.change_destination(tracking_id, Location.STOCKHOLM)
    app.assign_route(tracking_id, REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0])
    for voyage, place, activity in stores.LIFE:
        app.register_handling_event(tracking_id, voyage, place, activity)
    return 4 + len(stores.LIFE)


def commands(bench: Bench, baseline: BookingApplication) -> Comparison:
    """A cargo's life in commands: book, re-destine twice, route, handle six times."""

    def commanding(app: BookingApplication) -> Callable[[], float]:
        app.clock = _Clock()
        lives = max(1, bench.sizes.command_saves // (4 + len(stores.LIFE)))

        def round_() -> float:
            return per_second(lambda _: cargo_life(app), range(lives))

        return round_

    return bench.comparison(
        1,
        "Commands, each a read and a save (a cargo's life: book to claim)",
        "commands/s",
        (
            ("cargotime", commanding(bench.cargotime())),
            ("eventsourcing-django", commanding(baseline)),
        ),
        1.0,
        higher_is_better=True,
    )


def saves_only(bench: Bench, baseline: BookingApplication) -> Comparison:
    """The save alone: one event a save of a cargo already in memory."""

    def saving(app: Application[UUID]) -> Callable[[], float]:
        cargos = [stores.new_cargo(1, stores.START, timedelta(0))[0] for _ in range(10)]
        for cargo in cargos:
            app.save(cargo)
        clock = _Clock()

        def save(number: int) -> int:
            cargo = cargos[number % len(cargos)]
            cargo.change_destination(stores.PLACES[number % 4], timestamp=clock())
            app.save(cargo)
            return 1

        return lambda: per_second(save, range(bench.sizes.command_saves))

    return bench.comparison(
        1,
        "Save only, 1 event a save of a cargo in memory (not a user's command)",
        "events/s",
        (
            ("cargotime", saving(bench.cargotime())),
            ("eventsourcing-django", saving(baseline)),
        ),
        0.95,
        higher_is_better=True,
    )


def bulk_path(bench: Bench, baseline: BookingApplication) -> Comparison:
    """2. 100 events per save: cargotime, index included, against the library's SQL."""

    def saving(app: Application[UUID]) -> Callable[[], float]:
        clock = _Clock()

        def round_() -> float:
            cargos = [
                stores.new_cargo(100, clock(), timedelta(seconds=1))[0]
                for _ in range(bench.sizes.bulk_saves)
            ]
            return per_second(_saver(app), cargos)

        return round_

    return bench.comparison(
        2,
        "Bulk path, 100 events per save",
        "events/s",
        (("cargotime", saving(bench.cargotime())), ("library SQL", saving(baseline))),
        0.8,
        higher_is_better=True,
    )


def short_time_travel(bench: Bench, baseline: BookingApplication) -> Comparison:
    """3. A 10-event cargo: one query against the library's get at that version."""
    app = bench.cargotime()
    ours = [stores.save_history(app, 10) for _ in range(bench.sizes.cargos)]
    theirs = [stores.save_history(baseline, 10) for _ in range(bench.sizes.cargos)]
    bench.short = ours
    twin = dict(zip((h.tracking_id for h in ours), theirs, strict=True))

    def cargotime_round() -> float:
        picks = bench.instants(ours)
        return median_ms(lambda pick: app.get_cargo_at_timestamp(*_ids(pick)), picks)

    def library_round() -> float:
        picks = [
            (twin[h.tracking_id], h.version_at(at)) for h, at in bench.instants(ours)
        ]
        return median_ms(
            lambda pick: baseline.repository.get(pick[0].tracking_id, version=pick[1]),
            picks,
        )

    bench.notes["two_steps_ms"] = median_ms(
        lambda pick: _two_steps(app, *_ids(pick)), bench.instants(ours)
    )
    return bench.comparison(
        3,
        "Time travel, 10-event cargo, p50",
        "ms",
        (("cargotime", cargotime_round), ("library get(version)", library_round)),
        1.0,
        higher_is_better=False,
    )


def store_size(bench: Bench) -> Comparison:
    """4. The same reads in a store of 1,000,000 index rows and of 10,000."""
    histories = {}
    for alias, rows in (
        ("small", bench.sizes.small_store),
        ("large", bench.sizes.large_store),
    ):
        app = bench.cargotime(alias)
        histories[alias] = (
            app,
            [stores.save_history(app, 10) for _ in range(bench.sizes.cargos)],
        )
        stores.fill(alias, rows - 10 * bench.sizes.cargos)
        bench.notes[f"{alias}_index_rows"] = stores.count_rows(
            alias, "cargotime_eventtimestamp"
        )

    def reading(alias: str) -> Callable[[], float]:
        app, cargos = histories[alias]
        return lambda: median_ms(
            lambda pick: app.get_cargo_at_timestamp(*_ids(pick)), bench.instants(cargos)
        )

    return bench.comparison(
        4,
        f"Time travel, {bench.sizes.large_store:,} vs "
        f"{bench.sizes.small_store:,} index rows, p50",
        "ms",
        (("large store", reading("large")), ("small store", reading("small"))),
        1.2,
        higher_is_better=False,
    )


def picker_search(bench: Bench) -> Comparison:
    """7. The picker's first page of a search by place, in the stores of target 4."""
    queries = ["hong", "nlrtm", "kyo", "AUMEL", "stock"]

    def searching(alias: str) -> Callable[[], float]:
        app = bench.cargotime(alias)

        def search(query: str) -> int:
            page = page_of(find_cargos(app, query), 1, CARGOS_PER_PAGE)
            return len(describe_cargos(app, page.rows))

        return lambda: median_ms(
            search, [bench.random.choice(queries) for _ in range(bench.sizes.reads)]
        )

    return bench.comparison(
        7,
        f"Picker search by place, {bench.sizes.large_store // 10:,} vs "
        f"{bench.sizes.small_store // 10:,} cargos, p50",
        "ms",
        (("large store", searching("large")), ("small store", searching("small"))),
        1.2,
        higher_is_better=False,
    )


def history_length(bench: Bench) -> Comparison:
    """5. A random instant of a 10,000-event cargo against one of a 10-event cargo."""
    app = bench.cargotime()
    # Saved ten events at a time, as a busy cargo's commands would arrive.
    long = stores.save_history(
        app,
        bench.sizes.long_history,
        start=stores.START - timedelta(days=30),
        step=timedelta(seconds=10),
        per_save=10,
    )

    def reading(histories: list[History]) -> Callable[[], float]:
        return lambda: median_ms(
            lambda pick: app.get_cargo_at_timestamp(*_ids(pick)),
            bench.instants(histories),
        )

    return bench.comparison(
        5,
        f"Time travel, {bench.sizes.long_history:,}-event vs 10-event cargo, p50",
        "ms",
        (("long history", reading([long])), ("10 events", reading(bench.short))),
        2.0,
        higher_is_better=False,
    )


def admin_requests(bench: Bench) -> list[Comparison]:
    """6. The admin's time travel against the admin's own floors, as JSON and as a page.

    The JSON against a fixed JSON behind the same door (benchmarks/urls.py); the page
    against the admin's index, the same chrome with nothing of cargotime's. Each
    through the test client and the production middleware, on a 10-event cargo.
    """
    from cargotime.apps import get_application

    app = get_application()
    stored = stores.count_rows("default", "stored_events")
    clock = _Clock()
    cargos = [
        stores.new_cargo(100, clock(), timedelta(seconds=1))[0]
        for _ in range(max(0, bench.sizes.admin_store - stored) // 100)
    ]
    for cargo in cargos:
        app.save(cargo)
    stores.analyze("default")
    events = stores.count_rows("default", "stored_events")
    bench.notes["admin_store_events"] = events
    user = User.objects.create_superuser("bench", password="bench-only")
    client = Client()
    # Logged in once: the session row is read by every request, as in production.
    client.force_login(user)
    travel = reverse("admin:cargotime_time_travel")

    def requesting(url: str, picked: bool, **extra: str) -> Callable[[object], None]:
        def get(pick: object) -> None:
            params = dict(extra)
            if picked:
                tracking_id, at = _ids(cast(tuple[History, datetime], pick))
                params |= {"tracking_id": str(tracking_id), "at": at.isoformat()}
            response = client.get(url, params)
            assert response.status_code == 200, response.content[:300]

        return get

    requests = {
        "time-travel JSON": requesting(travel, True, format="json"),
        "fixed-JSON floor": requesting(reverse("bench_floor"), False),
        "time-travel page": requesting(travel, True),
        "admin index": requesting(reverse("admin:index"), False),
    }
    queries = {name: _queries(get, bench.short[0]) for name, get in requests.items()}
    bench.notes["admin_queries"] = queries

    def timing(name: str) -> Callable[[], float]:
        get = requests[name]
        return lambda: median_ms(
            get, bench.instants(bench.short)[: bench.sizes.requests]
        )

    comparisons = []
    for (a, b), goal in (
        (("time-travel JSON", "fixed-JSON floor"), 1.5),
        (("time-travel page", "admin index"), 1.2),
    ):
        comparisons.append(
            bench.comparison(
                6,
                f"Admin {a} vs {b}, 10-event cargo, {events:,}-event store, p50; "
                f"queries {queries[a]} vs {queries[b]}",
                "ms",
                ((a, timing(a)), (b, timing(b))),
                goal,
                higher_is_better=False,
            )
        )
    return comparisons


def _queries(get: Callable[[object], None], history: History) -> int:
    # The queries of one request, once its templates and the user's session are warm.
    pick = (history, history.instants[-1])
    get(pick)
    with CaptureQueriesContext(connections["default"]) as captured:
        get(pick)
    return len(captured.captured_queries)


def _ids(pick: tuple[History, datetime]) -> tuple[UUID, datetime]:
    history, at = pick
    return history.tracking_id, at


def _two_steps(
    app: SearchableTimestampsApplication, tracking_id: UUID, at: datetime
) -> Cargo:
    # The spec's read: the index lookup, then the repository at that version.
    recorder = app.recorder
    assert isinstance(recorder, SearchableTimestampsRecorder)
    version = recorder.get_version_at_timestamp(tracking_id, at)
    return cast(Cargo, app.repository.get(tracking_id, version=version))


def _saver(app: Application[UUID]) -> Callable[[Cargo], int]:
    def save(cargo: Cargo) -> int:
        return len(app.save(cargo))

    return save


class _Clock:
    """A clock a second further on at every call, in the past as imports are."""

    def __init__(self) -> None:
        self.now = stores.START + timedelta(days=400)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now
