"""The applications under test, and the cargos and filler rows they read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.db import connections
from eventsourcing.application import Application

from cargotime.application import BookingApplication, SearchableTimestampsApplication
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location

START = datetime(2024, 1, 1, tzinfo=UTC)
DEADLINE = START + timedelta(weeks=520)
PLACES = [Location.HAMBURG, Location.AUMEL, Location.NEWYORK, Location.TOKYO]
TOPIC = "cargotime.domain:Cargo.DestinationChanged"
# A shipped cargo's handling on the HONGKONG to STOCKHOLM route, after its booking and
# routing: (voyage, place, activity), one event each.
LIFE: tuple[tuple[str | None, Location, HandlingActivity], ...] = (
    (None, Location.HONGKONG, HandlingActivity.RECEIVE),
    ("V1", Location.HONGKONG, HandlingActivity.LOAD),
    ("V1", Location.NEWYORK, HandlingActivity.UNLOAD),
    ("V2", Location.NEWYORK, HandlingActivity.LOAD),
    ("V2", Location.STOCKHOLM, HandlingActivity.UNLOAD),
    (None, Location.STOCKHOLM, HandlingActivity.CLAIM),
)


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


# The fleet's made-up history (targets 8 and 10): bookings spread over 100 days, each
# cargo's events 5 days apart, so that at FLEET_AT, halfway, about half the cargos are
# booked and those are at every stage of their journeys.
FLEET_START = START
FLEET_BOOKINGS = timedelta(days=100)
FLEET_STEP = timedelta(days=5)
FLEET_AT = START + timedelta(days=50, hours=1)
FLEET_DEADLINE = START + timedelta(days=160)
# The two registered routes, by cargo parity: origin, first voyage, transhipment port,
# second voyage; both end at STOCKHOLM.
_ROUTES = (("HONGKONG", "V1", "NEWYORK", "V2"), ("TOKYO", "V3", "HAMBURG", "V4"))


def fill_fleet(alias: str, cargos: int) -> None:
    """Write *cargos* made-up 10-event histories, the same rows into two tables.

    cargotime's index (cargotime_eventtimestamp) and the peer's historical table
    (peer_historicalcargo) get the very same cargos, versions, timestamps and states,
    in bulk SQL, in the order of their timestamps, as they would have been written.
    """
    connection = connections[alias]
    sqlite = connection.vendor == "sqlite"
    step = int(FLEET_BOOKINGS.total_seconds()) // cargos
    base = int(FLEET_START.timestamp())

    def instant(seconds: str) -> str:
        if sqlite:
            return f"datetime({seconds}, 'unixepoch')"
        return f"to_timestamp({seconds})"

    event_at = f"{base} + f.i * {step} + (v.k - 1) * {int(FLEET_STEP.total_seconds())}"
    booked_at = f"{base} + f.i * {step}"
    route = f"(f.i % {len(_ROUTES)})"

    def by_route(index: int) -> str:
        choices = " ".join(f"WHEN {n} THEN '{r[index]}'" for n, r in enumerate(_ROUTES))
        return f"CASE {route} {choices} END"

    legs = " ".join(
        f'WHEN {n} THEN \'[["{o}", "{v1}", "{p}"], ["{p}", "{v2}", "STOCKHOLM"]]\''
        for n, (o, v1, p, v2) in enumerate(_ROUTES)
    )
    origin, first, port, second = (by_route(n) for n in range(4))
    # Version k: 1 booked, 2 routed, 3 received, 4 loaded, 5 unloaded at the port,
    # 6 loaded, 7 unloaded at STOCKHOLM, 8 and on claimed. One cargo in ten is late.
    states = {
        "origin": origin,
        "destination": "'STOCKHOLM'",
        "arrival_deadline": instant(str(int(FLEET_DEADLINE.timestamp()))),
        "transport_status": (
            "CASE WHEN v.k <= 2 THEN 'NOT_RECEIVED' WHEN v.k IN (4, 6) "
            "THEN 'ONBOARD_CARRIER' WHEN v.k >= 8 THEN 'CLAIMED' ELSE 'IN_PORT' END"
        ),
        "routing_status": "CASE WHEN v.k = 1 THEN 'NOT_ROUTED' ELSE 'ROUTED' END",
        "is_misdirected": "FALSE",
        "last_known_location": (
            f"CASE WHEN v.k <= 2 THEN NULL WHEN v.k <= 4 THEN {origin} "
            f"WHEN v.k <= 6 THEN {port} ELSE 'STOCKHOLM' END"
        ),
        "current_voyage_number": (
            f"CASE v.k WHEN 4 THEN {first} WHEN 6 THEN {second} ELSE NULL END"
        ),
        # Expected 45 days after booking; one cargo in ten after its deadline.
        "estimated_time_of_arrival": (
            f"CASE WHEN v.k = 1 THEN NULL WHEN f.i % 10 = 0 THEN "
            f"{instant(str(int(FLEET_DEADLINE.timestamp()) + 86400))} "
            f"ELSE {instant(f'{booked_at} + 3888000')} END"
        ),
        "route": f"CASE WHEN v.k = 1 THEN NULL ELSE CASE {route} {legs} END END",
    }
    columns = ", ".join(states)
    values = ", ".join(states.values())
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute(
                "CREATE TEMP TABLE fleet_ids AS WITH RECURSIVE n(i) AS "
                "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
                "SELECT i, lower(hex(randomblob(16))) AS id FROM n",
                [cargos],
            )
            versions = (
                "WITH RECURSIVE v(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM v "
                "WHERE k < 10) "
            )
            source = "fleet_ids AS f, v"
        else:
            cursor.execute(
                "CREATE TEMP TABLE fleet_ids AS SELECT i, gen_random_uuid() AS id "
                "FROM generate_series(1, %s) AS i",
                [cargos],
            )
            versions = ""
            source = "fleet_ids AS f, generate_series(1, 10) AS v(k)"
        order = f"ORDER BY {event_at}, f.i"
        cursor.execute(
            f"{versions}INSERT INTO cargotime_eventtimestamp (application_name, "
            f'originator_id, originator_version, "timestamp", {columns}) '
            f"SELECT 'cargotime', f.id, v.k, {instant(event_at)}, {values} "
            f"FROM {source} {order}"
        )
        cursor.execute(
            f"{versions}INSERT INTO peer_historicalcargo (tracking_id, history_date, "
            f"history_type, history_change_reason, history_user_id, {columns}) "
            f"SELECT f.id, {instant(event_at)}, "
            f"CASE WHEN v.k = 1 THEN '+' ELSE '~' END, NULL, NULL, {values} "
            f"FROM {source} {order}"
        )
        cursor.execute("DROP TABLE fleet_ids")
    analyze(alias)


def shipped_cargo(start: datetime, step: timedelta) -> Cargo:
    """Return a cargo of 10 unsaved events, booking to claim, *step* apart."""
    at = iter(start + number * step for number in range(10))
    cargo = Cargo.new_booking(
        Location.HONGKONG, Location.STOCKHOLM, DEADLINE, timestamp=next(at)
    )
    cargo.change_destination(Location.AUMEL, timestamp=next(at))
    cargo.change_destination(Location.STOCKHOLM, timestamp=next(at))
    cargo.assign_route(
        REGISTERED_ROUTES[("HONGKONG", "STOCKHOLM")][0], timestamp=next(at)
    )
    for voyage, place, activity in LIFE:
        cargo.register_handling_event(voyage, place, activity, timestamp=next(at))
    return cargo
