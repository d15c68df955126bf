"""The recorder's SQL: bulk inserts, and time travel in one query."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from django.db import models

from cargotime.cargo_states import STATE_COLUMNS

# Columns of eventsourcing-django's stored events and snapshots, and of the index.
STORED_COLUMNS = (
    "application_name",
    "originator_id",
    "originator_version",
    "topic",
    "state",
)
INDEX_COLUMNS = (
    "application_name",
    "originator_id",
    "originator_version",
    "timestamp",
    *STATE_COLUMNS,
)
# PostgreSQL's types of those columns, for arrays of their values.
STORED_TYPES = ("text", "uuid", "bigint", "text", "bytea")
INDEX_TYPES = (
    "text",
    "uuid",
    "bigint",
    "timestamptz",
    # The state: origin, destination, arrival deadline, transport and routing status,
    # misdirected, last known location, current voyage, estimated time of arrival,
    # route.
    "text",
    "text",
    "timestamptz",
    "text",
    "text",
    "boolean",
    "text",
    "text",
    "timestamptz",
    "text",
)


def quote(name: str) -> str:
    # SQLite and PostgreSQL both quote identifiers the SQL standard's way.
    return '"' + name.replace('"', '""') + '"'


def table(model: type[models.Model]) -> str:
    return quote(model._meta.db_table)


def names(columns: Sequence[str]) -> str:
    return ", ".join(quote(column) for column in columns)


@lru_cache(maxsize=256)
def qmark(statement: str) -> str:
    """Return *statement* with sqlite3's placeholders instead of Django's."""
    return re.sub(r"%\((\w+)\)s", r":\1", statement).replace("%s", "?")


@lru_cache(maxsize=16)
def insert_values(model: type[models.Model], columns: tuple[str, ...]) -> str:
    """Return an INSERT of one row, for executemany()."""
    placeholders = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO {table(model)} ({names(columns)}) VALUES ({placeholders})"


@lru_cache(maxsize=32)
def insert_rows_returning_id(model: type[models.Model], rows: int) -> str:
    """Return an INSERT of *rows* stored events that returns their ids."""
    row = f"({', '.join(['%s'] * len(STORED_COLUMNS))})"
    return (
        f"INSERT INTO {table(model)} ({names(STORED_COLUMNS)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {quote('id')}"
    )


# Up to this many rows a table, a save lists them as VALUES: for a command's event or
# two that costs PostgreSQL less than unnest's arrays, which win for bulk saves.
FEW_ROWS = 8


@lru_cache(maxsize=64)
def insert_returning_ids(
    events: type[models.Model],
    index: type[models.Model],
    snapshots: type[models.Model],
    counts: tuple[int, int, int] | None,
) -> str:
    """Return one PostgreSQL statement inserting events, index rows and snapshots."""
    # With *counts* (of events, index rows and snapshots) it takes each row's values in
    # turn, and leaves out the tables that get none; without, the application name and
    # one array a column, for each table (empty arrays insert nothing). It returns the
    # events' ids in insertion order. Nothing at all to insert is the caller's to skip.
    if counts is not None and not any(counts):
        msg = "There is nothing to insert."
        raise ValueError(msg)
    tables = [
        ("new_events", events, STORED_COLUMNS, STORED_TYPES),
        ("new_index_rows", index, INDEX_COLUMNS, INDEX_TYPES),
        ("new_snapshots", snapshots, STORED_COLUMNS, STORED_TYPES),
    ]
    parts = []
    for number, (name, model, columns, types) in enumerate(tables):
        if counts is None:
            rows = _from_arrays(columns, types)
        elif counts[number]:
            row = f"({', '.join(['%s'] * len(columns))})"
            rows = f"VALUES {', '.join([row] * counts[number])}"
        else:
            continue
        returning = " RETURNING id" if name == "new_events" else ""
        insert = f"INSERT INTO {table(model)} ({names(columns)}) {rows}{returning}"
        parts.append(f"{name} AS ({insert})")
    if counts is None or counts[0]:
        ids = "SELECT id FROM new_events ORDER BY id"
    else:
        # A data-modifying WITH runs whether or not the query reads it.
        ids = "SELECT NULL::bigint AS id WHERE false"
    return f"WITH {', '.join(parts)} {ids}"


def _from_arrays(columns: Sequence[str], types: Sequence[str]) -> str:
    # Binary: psycopg writes text arrays by quoting every element, which costs more
    # than the insert of a bulk save.
    arrays = [f"%b::{type_}[]" for type_ in types]
    if columns[0] == "application_name":
        # The application name is one value for every row, not an array.
        return f"SELECT %s::text, * FROM unnest({', '.join(arrays[1:])})"
    return f"SELECT * FROM unnest({', '.join(arrays)})"


# The same query on PostgreSQL, as the function migration 0003 creates.
CALL_EVENTS_AT = (
    "SELECT part, version, event_topic, event_state FROM cargotime_events_at("
    "%(id)s::uuid, %(at)s::timestamptz, %(app)s::text, %(snapshot)s::boolean)"
)


@lru_cache(maxsize=16)
def select_at_timestamp(
    events: type[models.Model],
    index: type[models.Model],
    snapshots: type[models.Model] | None,
) -> str:
    """Return the query of what rebuilds an aggregate as at an instant."""
    # Named parameters: id, at (the instant) and app (the application name). Rows:
    # (part, originator_version, topic, state), the snapshot (part 0) first.
    version = quote("originator_version")
    ctes = [_version_at_instant(index)]
    columns = names(("originator_version", "topic", "state"))
    selects = []
    after = "0"
    if snapshots is not None:
        ctes.append(_latest_snapshot(snapshots, "(SELECT v FROM at_version)"))
        selects.append(f"SELECT 0 AS part, {columns} FROM snapshot")
        after = f"COALESCE((SELECT {version} FROM snapshot), 0)"
    selects.append(
        f"SELECT 1 AS part, {columns} FROM {table(events)} "
        f"WHERE {_of_aggregate()} "
        f"AND {version} > {after} AND {version} <= (SELECT v FROM at_version)"
    )
    return (
        f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)} ORDER BY part, {version}"
    )


def _of_aggregate() -> str:
    # Named parameters app (the application name) and id.
    application, originator_id = quote("application_name"), quote("originator_id")
    return f"{application} = %(app)s AND {originator_id} = %(id)s"


def _version_at_instant(index: type[models.Model]) -> str:
    # The version is an index probe: the latest (timestamp, version) at or before the
    # instant %(at)s, read backwards along the index on (application, originator_id,
    # timestamp, version).
    version, timestamp = quote("originator_version"), quote("timestamp")
    return (
        f"at_version AS (SELECT {version} AS v FROM {table(index)} "
        f"WHERE {_of_aggregate()} AND {timestamp} <= %(at)s "
        f"ORDER BY {timestamp} DESC, {version} DESC LIMIT 1)"
    )


def _latest_snapshot(snapshots: type[models.Model], upto: str | None) -> str:
    # The latest snapshot, at or before the version *upto* (an SQL expression) if any.
    version = quote("originator_version")
    columns = names(("originator_version", "topic", "state"))
    bound = f" AND {version} <= {upto}" if upto is not None else ""
    return (
        f"snapshot AS (SELECT {columns} FROM {table(snapshots)} "
        f"WHERE {_of_aggregate()}{bound} ORDER BY {version} DESC LIMIT 1)"
    )


@lru_cache(maxsize=16)
def select_latest(
    events: type[models.Model], snapshots: type[models.Model] | None
) -> str:
    """Return the query of what rebuilds an aggregate as it is now."""
    # Named parameters: id and app (the application name). Rows: (part,
    # originator_version, topic, state), the latest snapshot (part 0) first, then the
    # events after it. The library's repository reads the two in two round trips.
    version = quote("originator_version")
    columns = names(("originator_version", "topic", "state"))
    if snapshots is None:
        return (
            f"SELECT 1 AS part, {columns} FROM {table(events)} "
            f"WHERE {_of_aggregate()} ORDER BY {version}"
        )
    return (
        f"WITH {_latest_snapshot(snapshots, None)} "
        f"SELECT 0 AS part, {columns} FROM snapshot UNION ALL "
        f"SELECT 1 AS part, {columns} FROM {table(events)} WHERE {_of_aggregate()} "
        f"AND {version} > COALESCE((SELECT {version} FROM snapshot), 0) "
        f"ORDER BY part, {version}"
    )


@lru_cache(maxsize=8)
def fleet_states(
    index: type[models.Model], vendor: str, columns: tuple[str, ...]
) -> str:
    """Return the query of every cargo's index row at an instant, with its booking."""
    # Parameters: the instant, the application name, the instant. Rows: the booking's
    # timestamp as "booked_at", then *columns* of the latest row at or before the
    # instant (highest timestamp, then version). One probe of the lookup index per
    # booked cargo; cargos with no row by then are left out.
    rows = table(index)
    application, originator_id = quote("application_name"), quote("originator_id")
    timestamp, version = quote("timestamp"), quote("originator_version")
    latest = (
        f"FROM {rows} AS i WHERE i.{application} = b.{application} "
        f"AND i.{originator_id} = b.{originator_id} AND i.{timestamp} <= %s "
        f"ORDER BY i.{timestamp} DESC, i.{version} DESC LIMIT 1"
    )
    selected = ", ".join(f"s.{quote(column)}" for column in columns)
    head = f"SELECT b.{timestamp} AS {quote('booked_at')}, {selected} FROM {rows} AS b"
    # A cargo's events never go back in time (the domain refuses it), so a cargo with
    # a row by the instant was booked by then: the walk starts at the instant.
    bookings = f"WHERE b.{application} = %s AND b.{version} = 1 AND b.{timestamp} <= %s"
    if vendor == "postgresql":
        inner = ", ".join(f"i.{quote(column)}" for column in columns)
        return f"{head} CROSS JOIN LATERAL (SELECT {inner} {latest}) AS s {bookings}"
    # SQLite has no LATERAL: the probe finds the row's id, which its index carries.
    return (
        f"{head} JOIN {rows} AS s ON s.{quote('id')} = "
        f"(SELECT i.{quote('id')} {latest}) {bookings}"
    )


# The fleet's queries read the states query above as "fleet"; their conditions are
# built by the functions below, from quoted columns and placeholders only.


def fleet_condition(column: str, values: int = 1) -> str:
    """Return "column = %s", or "column IN (%s, …)" for several *values*."""
    if values == 1:
        return f"{quote(column)} = %s"
    placeholders = ", ".join(["%s"] * values)
    return f"{quote(column)} IN ({placeholders})"


def fleet_late() -> str:
    """Return 1 where the cargo is expected after its deadline, else 0."""
    eta, deadline = quote("estimated_time_of_arrival"), quote("arrival_deadline")
    return f"(CASE WHEN {eta} IS NOT NULL AND {eta} > {deadline} THEN 1 ELSE 0 END)"


def fleet_late_condition() -> str:
    """Return the condition that the cargo's lateness is %s (1 or 0)."""
    return f"{fleet_late()} = %s"


def fleet_prefix_condition(vendor: str) -> str:
    """Return the condition that the tracking ID starts with %s (a LIKE pattern)."""
    if vendor == "postgresql":
        return f"CAST({quote('originator_id')} AS text) LIKE %s"
    # Django keeps UUIDs in SQLite as 32 hexadecimal digits: the pattern has no "-".
    return f"{quote('originator_id')} LIKE %s"


def fleet_any(conditions: Sequence[str]) -> str:
    """Return the conditions joined by OR; none of them is always false."""
    return f"({' OR '.join(conditions)})" if conditions else "1 = 0"


def fleet_page(
    index: type[models.Model],
    vendor: str,
    columns: tuple[str, ...],
    conditions: tuple[str, ...],
    *,
    after: bool,
) -> str:
    """Return a page of the fleet, newest booking first; parameters after states'."""
    # Then each condition's, then the cursor (booked_at, originator_id) if *after*,
    # then the limit.
    booked_at, originator_id = quote("booked_at"), quote("originator_id")
    if after:
        conditions = (*conditions, f"({booked_at}, {originator_id}) < (%s, %s)")
    return (
        f"SELECT * FROM ({fleet_states(index, vendor, columns)}) AS fleet"
        f"{_where(conditions)} ORDER BY {booked_at} DESC, {originator_id} DESC "
        "LIMIT %s"
    )


def fleet_groups(
    index: type[models.Model],
    vendor: str,
    columns: tuple[str, ...],
    conditions: tuple[str, ...],
) -> str:
    """Return how many cargos share each combination of the fleet's facets."""
    # Rows: transport status, routing status, last known location, destination,
    # misdirected, late (1 or 0), current voyage, and the count.
    grouped = names(
        ("transport_status", "routing_status", "last_known_location", "destination")
    )
    misdirected, voyage = quote("is_misdirected"), quote("current_voyage_number")
    return (
        f"SELECT {grouped}, {misdirected}, {fleet_late()}, {voyage}, count(*) "
        f"FROM ({fleet_states(index, vendor, columns)}) AS fleet"
        f"{_where(conditions)} GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )


def fleet_changes(
    index: type[models.Model],
    vendor: str,
    columns: tuple[str, ...],
    compared: tuple[str, ...],
    conditions: tuple[str, ...],
) -> str:
    """Return the cargos whose *compared* columns differ between two instants."""
    # Parameters: the states' at the later instant, then at the earlier, then each
    # condition's (on the later states, by their plain column names). Rows: the
    # later state (booked_at, then *columns*), then *columns* of the earlier one as
    # "before_…", NULL for a cargo booked since. One statement, whatever the size of
    # the fleet, newest booking first.
    booked_at, originator_id = quote("booked_at"), quote("originator_id")
    before = ", ".join(
        f"e.{quote(column)} AS {quote('before_' + column)}" for column in columns
    )
    # SQLite's null-safe "differs" is IS NOT; PostgreSQL's is IS DISTINCT FROM.
    differs = "IS NOT" if vendor == "sqlite" else "IS DISTINCT FROM"
    changed = " OR ".join(
        f"{quote('before_' + column)} {differs} {quote(column)}" for column in compared
    )
    conditions = (
        *conditions,
        f"({quote('before_originator_id')} IS NULL OR {changed})",
    )
    return (
        f"SELECT * FROM (SELECT fleet.*, {before} "
        f"FROM ({fleet_states(index, vendor, columns)}) AS fleet "
        f"LEFT JOIN ({fleet_states(index, vendor, columns)}) AS e "
        f"ON e.{originator_id} = fleet.{originator_id}) AS pair"
        f"{_where(conditions)} ORDER BY {booked_at} DESC, {originator_id} DESC"
    )


def _where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


@lru_cache(maxsize=32)
def select_visit(
    events: type[models.Model],
    index: type[models.Model],
    snapshots: type[models.Model] | None,
    vendor: str,
    *,
    by_version: bool,
    paged: bool,
    timestamps: bool = True,
) -> str:
    """Return the query of a visit: its history's ends, its replay and its page."""
    # The span (the first and the last index row), the version shown, the latest
    # snapshot at or before it (less %(back)s), the events after that snapshot up to
    # it, and the timeline's page: each a probe of an index. Named parameters: app,
    # id, back, then version (*by_version*) or at, then low and high (*paged*) or
    # half and size. Rows: (part, originator_version, topic, state, timestamp), in
    # the order of part (0 the span, 1 the version shown, 2 the snapshot, 3 the
    # events, with their index rows' timestamps if *timestamps*), then of version.
    version, originator_id = quote("originator_version"), quote("originator_id")
    application, timestamp = quote("application_name"), quote("timestamp")
    of_aggregate = f"{application} = %(app)s AND {originator_id} = %(id)s"
    ctes = [
        f"head AS (SELECT {version} AS v, {timestamp} AS t FROM {table(index)} "
        f"WHERE {of_aggregate} AND {version} = 1)",
        f"latest AS (SELECT {version} AS v, {timestamp} AS t FROM {table(index)} "
        f"WHERE {of_aggregate} ORDER BY {version} DESC LIMIT 1)",
    ]
    if by_version:
        ctes.append(
            f"at_version AS (SELECT {version} AS v FROM {table(events)} "
            f"WHERE {of_aggregate} AND {version} = %(version)s)"
        )
    else:
        ctes.append(_version_at_instant(index))
    columns = names(("originator_version", "topic", "state"))
    selects = []
    after = "0"
    if snapshots is not None:
        ctes.append(
            _latest_snapshot(snapshots, "(SELECT v FROM at_version) - %(back)s")
        )
        selects.append(f"SELECT 2 AS part, {columns}, NULL FROM snapshot")
        after = f"COALESCE((SELECT {version} FROM snapshot), 0)"
    if not paged:
        # The timeline's rule: the page centred on the version, full near the end.
        ctes.append(
            "page AS (SELECT CASE WHEN low < 0 THEN 0 ELSE low END AS low FROM "
            "(SELECT CASE WHEN shown.v - %(half)s < latest.v - %(size)s "
            "THEN shown.v - %(half)s ELSE latest.v - %(size)s END AS low "
            "FROM at_version AS shown, latest) AS bounds)"
        )
    window = (
        f"(e.{version} > %(low)s AND e.{version} <= %(high)s)"
        if paged
        else f"(e.{version} > (SELECT low FROM page) "
        f"AND e.{version} <= (SELECT low FROM page) + %(size)s)"
    )
    # Each event with its index row's timestamp: what the timeline shows of an event
    # it does not replay, without decoding it. An event with no index row (which
    # `timestamp_index check` reports) has none.
    joined = (
        f"i.{application} = e.{application} AND i.{originator_id} = e.{originator_id} "
        f"AND i.{version} = e.{version}"
    )
    # Without *timestamps*, NULL: PostgreSQL types a UNION's NULL columns from the
    # branches before, so the first names its type.
    no_time = "CAST(NULL AS timestamptz)" if vendor == "postgresql" else "NULL"
    if timestamps:
        moment = f"i.{timestamp}"
        rows = f"{table(events)} AS e LEFT JOIN {table(index)} AS i ON {joined}"
    else:
        moment, rows = no_time, f"{table(events)} AS e"
    selects.insert(
        0,
        f"SELECT 3 AS part, e.{version}, e.{quote('topic')}, e.{quote('state')}, "
        f"{moment} FROM {rows} "
        f"WHERE e.{application} = %(app)s AND e.{originator_id} = %(id)s "
        f"AND ({window} OR (e.{version} > {after} "
        f"AND e.{version} <= (SELECT v FROM at_version)))",
    )
    selects += [
        "SELECT 0 AS part, v, NULL, NULL, t FROM head",
        "SELECT 0 AS part, v, NULL, NULL, t FROM latest",
        "SELECT 1 AS part, v, NULL, NULL, NULL FROM at_version",
    ]
    return f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)} ORDER BY part, 2"


@lru_cache(maxsize=64)
def select_field_sources(
    events: type[models.Model],
    index: type[models.Model],
    nulls: tuple[bool, ...],
    plans: int,
) -> str:
    """Return the query of where each state column's value came from, with events."""
    # For each state column, the last version up to %(version)s where it held
    # another value than the one given (a NULL is a value here; *nulls* says which
    # are): rows (0, the column's position, that version or NULL, NULL, NULL), and
    # how many rows hold no state at all at position -1. Then, unless some row holds
    # none, the events one past those versions, the first %(first)s, and the latest
    # up to %(version)s whose topic is one of *plans* parameters plan0…: rows (1, 0,
    # version, topic, state). Named parameters: app, id, version, first, v0… (the
    # values that are not NULL, by the column's position), plan0….
    version, originator_id = quote("originator_version"), quote("originator_id")
    application, topic = quote("application_name"), quote("topic")
    of_aggregate = f"{application} = %(app)s AND {originator_id} = %(id)s"
    aliases = [f"c{position}" for position in range(len(nulls))]
    values = [f"%(v{position})s" for position in range(len(nulls))]
    aggregates = [f"COUNT(*) FILTER (WHERE {quote('origin')} IS NULL) AS stateless"]
    for column, null, alias, value in zip(
        STATE_COLUMNS, nulls, aliases, values, strict=True
    ):
        differs = (
            f"{quote(column)} IS NOT NULL"
            if null
            else f"{quote(column)} <> {value} OR {quote(column)} IS NULL"
        )
        aggregates.append(f"MAX({version}) FILTER (WHERE {differs}) AS {alias}")
    selected = ", ".join(aggregates)
    # Each as a row of its own, in the columns' order.
    selects = [
        f"SELECT 0 AS part, {position} AS k, {alias} AS v, NULL, NULL FROM since"
        for position, alias in enumerate(aliases)
    ]
    # One past each: a probe of the events' key, each.
    named = ", ".join(f"(SELECT {alias} FROM since) + 1" for alias in aliases)
    topics = ", ".join(f"%(plan{position})s" for position in range(plans)) or "NULL"
    ctes = [
        f"since AS (SELECT {selected} FROM {table(index)} "
        f"WHERE {of_aggregate} AND {version} <= %(version)s)",
        f"plan AS (SELECT {version} AS v FROM {table(events)} "
        f"WHERE {of_aggregate} AND {version} <= %(version)s AND {topic} IN ({topics}) "
        f"ORDER BY {version} DESC LIMIT 1)",
    ]
    # The events first: PostgreSQL types a UNION's NULL columns from the branches
    # before them.
    return (
        f"WITH {', '.join(ctes)} "
        f"SELECT 1 AS part, 0 AS k, {version} AS v, {topic}, {quote('state')} "
        f"FROM {table(events)} WHERE {of_aggregate} "
        "AND (SELECT stateless FROM since) = 0 "
        f"AND ({version} = %(first)s OR {version} = (SELECT v FROM plan) "
        f"OR {version} IN ({named})) UNION ALL "
        "SELECT 0 AS part, -1 AS k, stateless AS v, NULL, NULL FROM since "
        f"UNION ALL {' UNION ALL '.join(selects)} "
        "ORDER BY part, k, v"
    )
