"""eventsourcing-django's recorder, writing the timestamp index with the events."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.utils.dateparse import parse_datetime
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing_django import factory as django_factory
from eventsourcing_django.models import SnapshotRecord, StoredEventRecord
from eventsourcing_django.recorders import DjangoApplicationRecorder, errors

from cargotime import sql
from cargotime.application import EVENT_TIMESTAMPS_KWARG, SNAPSHOTS_KWARG
from cargotime.cargo_states import IndexRow
from cargotime.models import EventTimestamp

# Where an index row holds datetimes: its timestamp, arrival deadline and ETA.
INDEX_DATETIMES = tuple(
    number
    for number, column in enumerate(sql.INDEX_COLUMNS[1:])
    if column in {"timestamp", "arrival_deadline", "estimated_time_of_arrival"}
)


class SearchableTimestampsRecorder(DjangoApplicationRecorder):
    """Store events and their timestamp index rows in one transaction."""

    # Snapshots handed to insert_events() are written in the events' transaction.
    writes_snapshots_with_events = True

    def __init__(
        self,
        application_name: str,
        model: type[models.Model] = StoredEventRecord,
        using: str | None = None,
        *,
        snapshot_model: type[models.Model] = SnapshotRecord,
    ) -> None:
        super().__init__(application_name, model, using)
        self.snapshot_model = snapshot_model

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not (
            stored_events
            or kwargs.get(EVENT_TIMESTAMPS_KWARG)
            or kwargs.get(SNAPSHOTS_KWARG)
        ):
            # A save with nothing pending: no transaction, no lock, nothing stored.
            return []
        ids: Sequence[int] | None = super().insert_events(list(stored_events), **kwargs)
        return ids

    def _lock_table(self) -> None:
        # _insert_events() takes the lock, in the same round trip as the inserts.
        pass

    def _insert_events(
        self, stored_events: list[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        # Already inside the recorder's transaction.atomic(using=self.using).
        rows: list[IndexRow] = kwargs.get(EVENT_TIMESTAMPS_KWARG) or []
        snapshots: list[StoredEvent] = kwargs.get(SNAPSHOTS_KWARG) or []
        connection = self._connection
        connection.ensure_connection()
        if connection.vendor == "postgresql":
            return self._insert_postgresql(connection, stored_events, rows, snapshots)
        if connection.vendor == "sqlite":
            return self._insert_sqlite(connection, stored_events, rows, snapshots)
        msg = (
            f"cargotime stores events in SQLite or PostgreSQL, not {connection.vendor}."
        )
        raise NotSupportedError(msg)

    def _insert_postgresql(
        self,
        connection: BaseDatabaseWrapper,
        stored_events: list[StoredEvent],
        rows: list[IndexRow],
        snapshots: list[StoredEvent],
    ) -> Sequence[int]:
        # One statement inserts everything; pipelined with the BEGIN and the lock, the
        # whole save is one round trip before the commit.
        name = self.application_name
        counts = (len(stored_events), len(rows), len(snapshots))
        params: list[Any]
        if max(counts) <= sql.FEW_ROWS:
            params = [value for event in stored_events for value in _row(name, event)]
            params += [value for row in rows for value in (name, *row)]
            params += [
                value for snapshot in snapshots for value in _row(name, snapshot)
            ]
        else:
            params = [name, *_arrays(stored_events)]
            params += [name]
            params += [list(column) for column in zip(*rows, strict=True)] or [[]] * (
                len(sql.INDEX_COLUMNS) - 1
            )
            params += [name, *_arrays(snapshots)]
        statement = sql.insert_returning_ids(
            self.model,
            EventTimestamp,
            self.snapshot_model,
            counts if max(counts) <= sql.FEW_ROWS else None,
        )
        lock = f"LOCK TABLE {sql.table(self.model)} IN EXCLUSIVE MODE"
        with connection.wrap_database_errors:
            # psycopg[binary] ships a libpq of 14 or newer, which can pipeline.
            with connection.connection.pipeline():
                self._cursor(connection).execute(lock)
                cursor = self._cursor(connection)
                cursor.execute(statement, params)
            return [notification_id for (notification_id,) in cursor.fetchall()]

    def _insert_sqlite(
        self,
        connection: BaseDatabaseWrapper,
        stored_events: list[StoredEvent],
        rows: list[IndexRow],
        snapshots: list[StoredEvent],
    ) -> Sequence[int]:
        cursor = self._cursor(connection)
        name = self.application_name
        notification_ids: list[int] = []
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        batch = max(1, limit // len(sql.STORED_COLUMNS))
        for start in range(0, len(stored_events), batch):
            chunk = stored_events[start : start + batch]
            statement = sql.insert_rows_returning_id(self.model, len(chunk))
            cursor.execute(
                self._statement(connection, statement),
                [value for event in chunk for value in _sqlite_row(name, event)],
            )
            # RETURNING gives rows in no set order; ids grow in insertion order.
            notification_ids.extend(sorted(row[0] for row in cursor.fetchall()))
        if rows:
            adapt = _sqlite_datetime(connection)
            statement = sql.insert_values(EventTimestamp, sql.INDEX_COLUMNS)
            # A cargo's deadline and ETA are one object over many rows: adapted once.
            adapted: dict[int, tuple[datetime | None, str | None]] = {}
            values = []
            for row in rows:
                sqlite_row = [name, *row]
                sqlite_row[1] = _hex(row[0])
                for number in INDEX_DATETIMES:
                    value = row[number]
                    seen = adapted.get(number)
                    if seen is None or seen[0] is not value:
                        seen = adapted[number] = (value, adapt(value))
                    sqlite_row[number + 1] = seen[1]
                values.append(sqlite_row)
            cursor.executemany(self._statement(connection, statement), values)
        if snapshots:
            statement = sql.insert_values(self.snapshot_model, sql.STORED_COLUMNS)
            cursor.executemany(
                self._statement(connection, statement),
                [_sqlite_row(name, snapshot) for snapshot in snapshots],
            )
        return notification_ids

    @errors
    def get_version_at_timestamp(
        self, originator_id: UUID, timestamp: datetime
    ) -> int | None:
        """Return the version the aggregate had at *timestamp*, or None before it."""
        instant = _in_utc(timestamp)
        if instant is None:
            return None
        return (
            EventTimestamp.objects.using(self.using)
            .filter(
                application_name=self.application_name,
                originator_id=originator_id,
                timestamp__lte=instant,
            )
            .order_by("-timestamp", "-originator_version")
            .values_list("originator_version", flat=True)
            .first()
        )

    @errors
    def select_events_at_timestamp(
        self, originator_id: UUID, timestamp: datetime, *, snapshot: bool
    ) -> list[StoredEvent]:
        """Return, in one query, what rebuilds the aggregate as at *timestamp*."""
        # The latest snapshot at or before the version the index gives for the instant
        # (if *snapshot*), then the events after it up to that version; nothing before
        # the aggregate's first event.
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        instant = _in_utc(timestamp)
        if instant is None:
            return []
        connection = self._connection
        connection.ensure_connection()
        native = connection.features.has_native_uuid_field
        params = {
            "id": originator_id if native else originator_id.hex,
            "at": connection.ops.adapt_datetimefield_value(instant),
            "app": self.application_name,
            "snapshot": snapshot,
        }
        if connection.vendor == "postgresql" and self._has_default_tables:
            # Migration 0003's function: the same query, with its plans kept.
            statement = sql.CALL_EVENTS_AT
        else:
            statement = sql.select_at_timestamp(
                self.model, EventTimestamp, self.snapshot_model if snapshot else None
            )
        return self._select_stored_events(connection, statement, params, originator_id)

    @errors
    def select_latest_events(
        self, originator_id: UUID, *, snapshot: bool
    ) -> list[StoredEvent]:
        """Return, in one query, what rebuilds the aggregate as it is now."""
        # The latest snapshot (if *snapshot*) and the events after it: what the
        # library's repository reads in two round trips.
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        connection = self._connection
        connection.ensure_connection()
        native = connection.features.has_native_uuid_field
        params = {
            "id": originator_id if native else originator_id.hex,
            "app": self.application_name,
        }
        statement = sql.select_latest(
            self.model, self.snapshot_model if snapshot else None
        )
        return self._select_stored_events(connection, statement, params, originator_id)

    @errors
    def select_visit(
        self,
        originator_id: UUID,
        *,
        timestamp: datetime | None = None,
        version: int | None = None,
        back: int = 0,
        window: tuple[int, int] | None = None,
        size: int,
        snapshot: bool,
        timestamps: bool = False,
    ) -> list[VisitRow]:
        """Return, in one query, an aggregate at *timestamp* or *version* and its page.

        The rows, in order: the history's first and last index rows (part 0), the
        version at *timestamp* or *version* if there is one (1), the latest snapshot
        at or before it less *back* versions (2, if *snapshot*), then the events
        after that snapshot up to it, and those of the page (3) with their index
        timestamps: the page after version *window[0]* up to *window[1]*, or else
        the *size* events around it, full near the end.

        With *timestamps*, the events of part 3 come with their index rows'
        timestamps where that costs less than decoding them: on SQLite. PostgreSQL
        plans the join afresh for every statement (no prepared plans behind a
        pooler), which costs more than decoding a page of events saves.
        """
        connection = self._connection
        connection.ensure_connection()
        native = connection.features.has_native_uuid_field
        params: dict[str, Any] = {
            "id": originator_id if native else originator_id.hex,
            "app": self.application_name,
            "back": back,
        }
        if version is not None:
            params["version"] = version
        else:
            assert timestamp is not None
            # Before every instant a database holds: before every event too.
            instant = _in_utc(timestamp) or datetime(1, 1, 2, tzinfo=UTC)
            params["at"] = connection.ops.adapt_datetimefield_value(instant)
        if window is not None:
            params["low"], params["high"] = window
        else:
            params["half"], params["size"] = size // 2 + 1, size
        statement = sql.select_visit(
            self.model,
            EventTimestamp,
            self.snapshot_model if snapshot else None,
            connection.vendor,
            by_version=version is not None,
            paged=window is not None,
            timestamps=timestamps and connection.vendor == "sqlite",
        )
        rows = self._fetch_all(connection, statement, params)
        # SQLite hands back the index's text, naive UTC, through a UNION.
        moment = _sqlite_instant if connection.vendor == "sqlite" else _same
        return [
            (
                part,
                number,
                topic,
                None if state is None else bytes(state),
                None if at is None else moment(at),
            )
            for part, number, topic, state, at in rows
        ]

    @errors
    def select_field_sources(
        self,
        originator_id: UUID,
        version: int,
        values: Sequence[Any],
        *,
        first_version: int,
        topics: Sequence[str],
    ) -> tuple[list[int | None], list[StoredEvent]] | None:
        """Return, in one query, where each state column's value at *version* came from.

        *values* are the columns' values at *version*, in STATE_COLUMNS' order. For
        each column, the last version up to *version* where it held another value
        (None: never); and the stored events one past those versions, at
        *first_version*, and the latest up to *version* with one of *topics*. None
        where some index row holds no state yet (indexed before the index held
        states): then no column can tell.
        """
        connection = self._connection
        connection.ensure_connection()
        native = connection.features.has_native_uuid_field
        params: dict[str, Any] = {
            "app": self.application_name,
            "id": originator_id if native else originator_id.hex,
            "version": version,
            "first": first_version,
        }
        for position, value in enumerate(values):
            if value is not None:
                params[f"v{position}"] = (
                    connection.ops.adapt_datetimefield_value(value)
                    if isinstance(value, datetime)
                    else value
                )
        for position, topic in enumerate(topics):
            params[f"plan{position}"] = topic
        statement = sql.select_field_sources(
            self.model,
            EventTimestamp,
            tuple(value is None for value in values),
            len(topics),
        )
        rows = self._fetch_all(connection, statement, params)
        (_, _, stateless, _, _), *rest = rows
        if stateless:
            return None
        last = [number for part, _, number, _, _ in rest if part == 0]
        events = [
            StoredEvent(
                originator_id=originator_id,
                originator_version=number,
                topic=topic,
                state=bytes(state),
            )
            for part, _, number, topic, state in rest
            if part == 1
        ]
        return last, events

    def _select_stored_events(
        self,
        connection: BaseDatabaseWrapper,
        statement: str,
        params: dict[str, Any],
        originator_id: UUID,
    ) -> list[StoredEvent]:
        # Rows of (part, originator_version, topic, state), in the order to apply.
        return [
            StoredEvent(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            for _, version, topic, state in self._fetch_all(
                connection, statement, params
            )
        ]

    @property
    def _has_default_tables(self) -> bool:
        return self.model is StoredEventRecord and self.snapshot_model is SnapshotRecord

    @property
    def _connection(self) -> BaseDatabaseWrapper:
        return connections[self.using or DEFAULT_DB_ALIAS]

    def _fetch_all(
        self, connection: BaseDatabaseWrapper, statement: str, params: dict[str, Any]
    ) -> list[Any]:
        # One of our fixed reads, its cursor closed after.
        cursor = self._cursor(connection)
        try:
            cursor.execute(self._statement(connection, statement), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _cursor(self, connection: BaseDatabaseWrapper) -> CursorWrapper:
        # Django's wrapper around the driver's plain cursor: it translates errors
        # and logs queries when debugging. Our statements are fixed, so the driver
        # may bind parameters server-side, and no placeholders need rewriting.
        connection.validate_thread_sharing()
        if connection.vendor == "sqlite" and connection.queries_logged:
            # Django logs SQLite queries only in its own placeholder style.
            return connection.cursor()
        raw = connection.connection
        if connection.vendor == "postgresql":
            import psycopg

            dbapi_cursor: Any = psycopg.Cursor(raw)
        else:
            dbapi_cursor = raw.cursor()
        if connection.queries_logged:
            return connection.make_debug_cursor(dbapi_cursor)
        return connection.make_cursor(dbapi_cursor)

    def _statement(self, connection: BaseDatabaseWrapper, statement: str) -> str:
        if connection.vendor == "sqlite" and not connection.queries_logged:
            return sql.qmark(statement)
        return statement


# A row of select_visit(): part, version, topic, state, timestamp.
VisitRow = tuple[int, int, str | None, bytes | None, datetime | None]


def _sqlite_instant(value: datetime | str) -> datetime:
    moment = parse_datetime(value) if isinstance(value, str) else value
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _same(value: datetime) -> datetime:
    return value


def _arrays(stored_events: Sequence[StoredEvent]) -> list[list[Any]]:
    return [
        [event.originator_id for event in stored_events],
        [event.originator_version for event in stored_events],
        [event.topic for event in stored_events],
        [event.state for event in stored_events],
    ]


def _row(name: str, event: StoredEvent) -> tuple[Any, ...]:
    return (
        name,
        event.originator_id,
        event.originator_version,
        event.topic,
        event.state,
    )


def _sqlite_row(name: str, event: StoredEvent) -> tuple[Any, ...]:
    return (
        name,
        _hex(event.originator_id),
        event.originator_version,
        event.topic,
        event.state,
    )


def _in_utc(timestamp: datetime) -> datetime | None:
    # In UTC: PostgreSQL refuses offsets past ±15:59 that Python allows. Past either
    # end of the datetimes once in UTC: before every event (None), or after every one.
    try:
        return timestamp.astimezone(UTC)
    except OverflowError:
        return None if timestamp.year == 1 else datetime.max.replace(tzinfo=UTC)


def _hex(originator_id: UUID | str) -> str:
    # Django keeps UUIDs in SQLite as 32 hexadecimal digits.
    if not isinstance(originator_id, UUID):
        originator_id = UUID(originator_id)
    return originator_id.hex


def _sqlite_datetime(
    connection: BaseDatabaseWrapper,
) -> Callable[[datetime | None], str | None]:
    adapt: Callable[[datetime | None], str | None] = (
        connection.ops.adapt_datetimefield_value
    )
    if connection.timezone is not UTC:
        return adapt

    def utc(value: datetime | None) -> str | None:
        # Django's own conversion, less its checks, for what is in UTC already.
        if value is not None and value.tzinfo is UTC:
            return str(value.replace(tzinfo=None))
        return adapt(value)

    return utc


class Factory(django_factory.Factory):
    """eventsourcing-django's factory, with the searchable timestamps recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return SearchableTimestampsRecorder(
            application_name=self.env.name,
            model=StoredEventRecord,
            using=self.db_alias,
        )
