"""The fleet's targets of issue 9: 8 the peer, 9 the naive loop, 10 the scale.

8 and 10 read two stores of made-up 10-row cargos, filled in bulk SQL (the small and
the large one); 8 asks django-simple-history the same questions over the same rows. 9
reads cargos of real stored events, saved through the application.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import NoReverseMatch, reverse

from benchmarks import stores
from benchmarks.harness import Comparison, median_ms
from benchmarks.peer.models import Cargo as PeerCargo
from benchmarks.targets import Bench
from cargotime.application import SearchableTimestampsApplication
from cargotime.fleet import FleetFilters, fleet_at, fleet_counts

SMALL, LARGE = "fleet_small", "fleet_large"
# The filtered page of 8 and 10: the cargos in port at the instant, 50 of them.
IN_PORT = FleetFilters(transport_status="IN_PORT")
PAGE = 50


def fill(bench: Bench) -> None:
    """Fill the small and the large store, both tables of each, once per run."""
    if bench.notes.get("fleet_filled"):
        return
    for alias, cargos in (
        (SMALL, bench.sizes.fleet_small),
        (LARGE, bench.sizes.fleet_large),
    ):
        began = time.monotonic()
        stores.fill_fleet(alias, cargos)
        bench.notes[f"{alias}_fill_s"] = round(time.monotonic() - began, 1)
        bench.notes[f"{alias}_index_rows"] = stores.count_rows(
            alias, "cargotime_eventtimestamp"
        )
        bench.notes[f"{alias}_peer_rows"] = stores.count_rows(
            alias, "peer_historicalcargo"
        )
    app = bench.cargotime(SMALL)
    bench.notes["fleet_at"] = stores.FLEET_AT.isoformat()
    bench.notes["fleet_small_booked_at_T"] = ours_count(app)
    bench.notes["fleet_small_in_port_at_T"] = len(ours_page(app))
    # The two must agree before either is timed.
    counts = fleet_counts(stores.FLEET_AT, app=app)
    assert counts.transport_status == peer_per_status(SMALL), "the peer disagrees"
    bench.notes["fleet_filled"] = True


def ours_count(app: SearchableTimestampsApplication) -> int:
    return fleet_counts(stores.FLEET_AT, app=app).count


def ours_per_status(app: SearchableTimestampsApplication) -> dict[str, int]:
    return fleet_counts(stores.FLEET_AT, app=app).transport_status


def ours_page(app: SearchableTimestampsApplication) -> list[Any]:
    return fleet_at(stores.FLEET_AT, app=app, filters=IN_PORT, limit=PAGE).cargos


def peer_count(alias: str) -> int:
    return int(PeerCargo.history.db_manager(alias).as_of(stores.FLEET_AT).count())


def peer_per_status(alias: str) -> dict[str, int]:
    rows = (
        PeerCargo.history.db_manager(alias)
        .as_of(stores.FLEET_AT)
        .values("transport_status")
        .annotate(n=Count("pk"))
    )
    return {row["transport_status"]: row["n"] for row in rows}


def peer_page(alias: str) -> list[Any]:
    query = PeerCargo.history.db_manager(alias).as_of(stores.FLEET_AT)
    return list(query.filter(transport_status=IN_PORT.transport_status)[:PAGE])


def timed(call: Callable[[], object], calls: int) -> Callable[[], float]:
    """Return a round: the median of *calls* calls, in milliseconds."""
    return lambda: median_ms(lambda _: call(), range(calls))


def peer(bench: Bench) -> list[Comparison]:
    """8. cargotime's fleet at T against django-simple-history's as_of(T)."""
    fill(bench)
    comparisons = []
    for alias, cargos in (
        (SMALL, bench.sizes.fleet_small),
        (LARGE, bench.sizes.fleet_large),
    ):
        app = bench.cargotime(alias)
        large = alias == LARGE
        # A count over 100,000 cargos takes seconds in the peer: one call a round.
        calls = 1 if large else bench.sizes.fleet_calls
        rounds = bench.sizes.fleet_rounds if large else None
        questions: list[
            tuple[str, Callable[[], object], Callable[[], object], float, int]
        ] = [
            (
                "count",
                partial(ours_count, app),
                partial(peer_count, alias),
                0.5,
                calls,
            ),
            (
                "counts per status",
                partial(ours_per_status, app),
                partial(peer_per_status, alias),
                0.5,
                calls,
            ),
            (
                "first 50 in port",
                partial(ours_page, app),
                partial(peer_page, alias),
                1.0,
                bench.sizes.fleet_calls,
            ),
        ]
        for question, ours, theirs, goal, n in questions:
            comparisons.append(
                bench.comparison(
                    8,
                    f"Fleet vs simple-history as_of(T), {question}, {cargos:,} cargos",
                    "ms",
                    (
                        ("cargotime", timed(ours, n)),
                        ("simple-history", timed(theirs, n)),
                    ),
                    goal,
                    higher_is_better=False,
                    rounds=rounds,
                )
            )
    return comparisons


def scale(bench: Bench) -> list[Comparison]:
    """10. The fleet at T in the large store against the small one."""
    fill(bench)
    small, large = bench.cargotime(SMALL), bench.cargotime(LARGE)
    ratio = bench.sizes.fleet_large // bench.sizes.fleet_small
    title = f"{bench.sizes.fleet_large:,} vs {bench.sizes.fleet_small:,} cargos"
    calls = bench.sizes.fleet_calls
    return [
        bench.comparison(
            10,
            f"Fleet at T, first 50 in port, {title}",
            "ms",
            (
                ("large", timed(lambda: ours_page(large), calls)),
                ("small", timed(lambda: ours_page(small), calls)),
            ),
            2.0,
            higher_is_better=False,
        ),
        bench.comparison(
            10,
            f"Fleet at T, counts, {title} ({ratio}×)",
            "ms",
            (
                ("large", timed(lambda: fleet_counts(stores.FLEET_AT, app=large), 1)),
                ("small", timed(lambda: fleet_counts(stores.FLEET_AT, app=small), 1)),
            ),
            12.0,
            higher_is_better=False,
            rounds=bench.sizes.fleet_rounds,
        ),
    ]


def naive_loop(bench: Bench) -> Comparison:
    """9. The fleet's first page with counts, against get_cargo_at_timestamp each."""
    alias = "fleet_events"
    app = bench.cargotime(alias)
    began = time.monotonic()
    tracking_ids: list[UUID] = []
    # A booking a minute, each cargo's events an hour apart: at the instant, just
    # after the last booking, every cargo is booked and they are at every stage.
    batch = []
    for number in range(bench.sizes.loop_cargos):
        start = stores.START + timedelta(minutes=number)
        batch.append(stores.shipped_cargo(start, timedelta(hours=1)))
        if len(batch) == 100:
            app.save(*batch)
            tracking_ids += [cargo.id for cargo in batch]
            batch = []
    if batch:
        app.save(*batch)
        tracking_ids += [cargo.id for cargo in batch]
    at = stores.START + timedelta(minutes=bench.sizes.loop_cargos, seconds=1)
    stores.analyze(alias)
    bench.notes["loop_save_s"] = round(time.monotonic() - began, 1)
    bench.notes["loop_events"] = stores.count_rows(alias, "stored_events")

    def loop() -> dict[str, Any]:
        # What one would write without the fleet: rebuild each cargo, then count and
        # sort in Python.
        cargos = [(t, app.get_cargo_at_timestamp(t, at)) for t in tracking_ids]
        counts = Counter(cargo.transport_status for _, cargo in cargos)
        newest = sorted(cargos, key=lambda pair: pair[1].created_on, reverse=True)
        return {"count": len(cargos), "counts": counts, "page": newest[:PAGE]}

    fleet, how = fleet_request(bench, app, at, alias)
    bench.notes["loop_fleet_variant"] = how
    calls = bench.sizes.fleet_calls
    return bench.comparison(
        9,
        f"Fleet page + counts ({how}) vs get_cargo_at_timestamp loop, "
        f"{len(tracking_ids):,} cargos",
        "ms",
        (("naive loop", timed(loop, 1)), ("fleet", timed(fleet, calls))),
        100.0,
        higher_is_better=True,
        rounds=bench.sizes.loop_rounds,
    )


def fleet_request(
    bench: Bench, app: SearchableTimestampsApplication, at: datetime, alias: str
) -> tuple[Callable[[], object], str]:
    """Return the fleet's first page with counts: the admin's JSON if it is wired."""
    try:
        url = reverse("admin:cargotime_fleet")
    except NoReverseMatch:

        def api() -> object:
            return fleet_counts(at, app=app), fleet_at(at, app=app, limit=PAGE)

        # No admin:cargotime_fleet yet: the Python API the page would call.
        return api, "API"
    # The admin reads the application CARGOTIME names: point it at this store.
    cargotime = {
        **getattr(settings, "CARGOTIME", {}),
        "DATABASE_ALIAS": alias,
        "SNAPSHOT_INTERVAL": bench.snapshot_interval,
    }
    override_settings(CARGOTIME=cargotime).enable()
    user, _ = User.objects.get_or_create(
        username="fleet-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)

    def get() -> object:
        response = client.get(url, {"at": at.isoformat(), "format": "json"})
        assert response.status_code == 200, response.content[:300]
        return response

    return get, "admin JSON"


def plans(bench: Bench) -> dict[str, list[str]]:
    """Return how each database plans the fleet's and the peer's queries at T."""
    found: dict[str, list[str]] = {}
    for alias in (SMALL, LARGE):
        app = bench.cargotime(alias)
        questions: dict[str, Callable[[], object]] = {
            "cargotime counts": partial(ours_per_status, app),
            "cargotime first 50 in port": partial(ours_page, app),
            "simple-history count": partial(peer_count, alias),
            "simple-history counts per status": partial(peer_per_status, alias),
            "simple-history first 50 in port": partial(peer_page, alias),
        }
        for name, question in questions.items():
            found[f"{alias}: {name}"] = explain(alias, question)
    return found


def explain(alias: str, question: Callable[[], object]) -> list[str]:
    """Return the plan of the last query *question* runs (analysed on PostgreSQL)."""
    connection = connections[alias]
    with CaptureQueriesContext(connection) as captured:
        question()
    statement = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}")
            return [row[3] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
        return [row[0] for row in cursor.fetchall()]
