"""The applications under test, and the cargos and filler rows they read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.db import connections
from eventsourcing.application import Application

from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.domain import Cargo, Location

START = datetime(2024, 1, 1, tzinfo=UTC)
DEADLINE = START + timedelta(weeks=520)
PLACES = [Location.HAMBURG, Location.AUMEL, Location.NEWYORK, Location.TOKYO]
TOPIC = "cargotime.domain:Cargo.DestinationChanged"


def cargotime(
    alias: str, snapshot_interval: int | None
) -> SearchableTimestampsApplication:
    """Return cargotime as shipped, on the Django database *alias*."""
    return SearchableTimestampsApplication(
        env={
            "PERSISTENCE_MODULE": "cargotime.persistence:Factory",
            "DJANGO_DB_ALIAS": alias,
        },
        snapshot_interval=snapshot_interval,
    )


def eventsourcing_django(alias: str) -> BookingApplication:
    """Return the same application on plain eventsourcing-django: no index."""
    return BookingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing_django", "DJANGO_DB_ALIAS": alias}
    )


def library(env: Mapping[str, str]) -> BookingApplication:
    """Return the same application on the library's own SQL recorders: no index."""
    return BookingApplication(env=env)


@dataclass
class History:
    """A cargo's id and the instant of each of its events, version 1 first."""

    tracking_id: UUID
    instants: list[datetime] = field(default_factory=list)

    def version_at(self, instant: datetime) -> int:
        return sum(1 for at in self.instants if at <= instant)


def new_cargo(events: int, start: datetime, step: timedelta) -> tuple[Cargo, History]:
    """Return a cargo with *events* unsaved events, *step* apart from *start*."""
    cargo = Cargo.new_booking(
        Location.HONGKONG, Location.STOCKHOLM, DEADLINE, timestamp=start
    )
    history = History(cargo.id, [start])
    for number in range(1, events):
        at = start + number * step
        cargo.change_destination(PLACES[number % len(PLACES)], timestamp=at)
        history.instants.append(at)
    return cargo, history


def save_history(
    app: Application[UUID],
    events: int,
    *,
    start: datetime = START,
    step: timedelta = timedelta(minutes=1),
    per_save: int = 1,
) -> History:
    """Store a cargo of *events* events, *per_save* events to a save, as commands do."""
    cargo = Cargo.new_booking(
        Location.HONGKONG, Location.STOCKHOLM, DEADLINE, timestamp=start
    )
    history = History(cargo.id, [start])
    for number in range(1, events):
        if number % per_save == 0:
            app.save(cargo)
        at = start + number * step
        cargo.change_destination(PLACES[number % len(PLACES)], timestamp=at)
        history.instants.append(at)
    app.save(cargo)
    return history


def fill(alias: str, rows: int, *, events: bool = True) -> None:
    """Add *rows* index rows (and as many stored events) of made-up 10-event cargos.

    Bulk SQL, not the application: it is the size of the tables that matters here,
    and the made-up cargos are never read.
    """
    cargos = rows // 10
    if cargos == 0:
        return
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TEMP TABLE filler AS WITH RECURSIVE n(i) AS "
                "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
                "SELECT i, lower(hex(randomblob(16))) AS id FROM n",
                [cargos],
            )
            versions = (
                "WITH RECURSIVE v(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM v "
                "WHERE k < 10) "
            )
            instant = "datetime(1577836800 + f.i * 10 + v.k, 'unixepoch')"
            state = "X'7B7D'"
        else:
            cursor.execute(
                "CREATE TEMP TABLE filler AS SELECT i, gen_random_uuid() AS id "
                "FROM generate_series(1, %s) AS i",
                [cargos],
            )
            versions = ""
            instant = (
                "timestamptz '2020-01-01 00:00:00+00' "
                "+ (f.i * 10 + v.k) * interval '1 second'"
            )
            state = "'\\x7b7d'::bytea"
        source = "filler AS f, " + (
            "v" if connection.vendor == "sqlite" else "generate_series(1, 10) AS v(k)"
        )
        # Each made-up cargo goes from one of the places to another, as users' do,
        # so that the picker's search by place finds some of them and not others.
        codes = [location.value for location in Location]

        def place(shift: int) -> str:
            whens = " ".join(f"WHEN {n} THEN '{code}'" for n, code in enumerate(codes))
            return f"CASE (f.i + {shift}) % {len(codes)} {whens} END"

        cursor.execute(
            f"{versions}INSERT INTO cargotime_eventtimestamp "
            '(application_name, originator_id, originator_version, "timestamp", '
            "origin, destination, transport_status, routing_status, is_misdirected) "
            f"SELECT 'cargotime', f.id, v.k, {instant}, {place(0)}, {place(3)}, "
            f"'IN_PORT', 'ROUTED', FALSE FROM {source} ORDER BY f.id, v.k"
        )
        if events:
            cursor.execute(
                f"{versions}INSERT INTO stored_events (application_name, "
                "originator_id, originator_version, topic, state) "
                f"SELECT 'cargotime', f.id, v.k, %s, {state} FROM {source} "
                "ORDER BY f.id, v.k",
                [TOPIC],
            )
        cursor.execute("DROP TABLE filler")
    analyze(alias)


def analyze(alias: str) -> None:
    """Give PostgreSQL's planner fresh statistics, as autovacuum would in time."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def count_rows(alias: str, table: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        (count,) = cursor.fetchone()
    return int(count)
