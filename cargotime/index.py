"""Compare the timestamp index with the stored cargo events, and repair it."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing_django.models import StoredEventRecord
from eventsourcing_django.recorders import DjangoApplicationRecorder

from cargotime.application import INDEXED_EVENTS
from cargotime.cargo_states import STATE_COLUMNS, apply, index_row
from cargotime.domain import Cargo
from cargotime.models import EventTimestamp

# Every event the application indexes is one of Cargo's, so its topic starts so.
CARGO_TOPIC_PREFIX = f"{Cargo.__module__}:{Cargo.__qualname__}."

Key = tuple[UUID, int]


@dataclass(frozen=True)
class IndexRow:
    """One row of the index, as stored (pk) or as it should be (pk None)."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    # The values of STATE_COLUMNS: the cargo as it was after the event.
    state: tuple[Any, ...] = ()
    pk: int | None = None

    def differences(self, other: IndexRow) -> list[str]:
        """Return the names of the columns in which *other* differs from this row."""
        names = []
        if self.timestamp != other.timestamp:
            names.append("timestamp")
        for name, mine, theirs in zip(
            STATE_COLUMNS, self.state, other.state, strict=True
        ):
            if mine != theirs:
                names.append(name)
        return names


@dataclass
class BatchDiff:
    """Where a batch of stored cargo events and its stretch of the index disagree."""

    events: int = 0
    missing: list[IndexRow] = field(default_factory=list)
    extra: list[IndexRow] = field(default_factory=list)
    # (the row as stored, the row as the events make it)
    wrong: list[tuple[IndexRow, IndexRow]] = field(default_factory=list)
    last_key: Key | None = None

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.wrong)


class UndecodableEventError(Exception):
    """A stored event the application's mapper cannot decode."""


class TimestampIndexer:
    """Walk the stored cargo events of *app* in batches, against the index."""

    def __init__(self, app: Application[UUID], batch_size: int = 1000) -> None:
        recorder = app.recorder
        if not isinstance(recorder, DjangoApplicationRecorder):
            msg = f"{type(recorder).__name__} does not store events through Django."
            raise TypeError(msg)
        if batch_size < 1:
            msg = f"The batch size must be at least 1, not {batch_size}."
            raise ValueError(msg)
        self.app = app
        self.batch_size = batch_size
        self.application_name = recorder.application_name
        self.using = recorder.using or DEFAULT_DB_ALIAS

    def count_events(self) -> int:
        """Return how many stored cargo events the index should cover."""
        return self._events().count()

    def check(self, after: Key | None = None) -> Generator[BatchDiff]:
        """Yield the differences batch by batch, writing nothing."""
        return self._walk(after, repair=False)

    def rebuild(self, after: Key | None = None) -> Generator[BatchDiff]:
        """Repair each batch in its own transaction, and yield what it repaired."""
        return self._walk(after, repair=True)

    def _walk(self, after: Key | None, *, repair: bool) -> Generator[BatchDiff]:
        # The cargo as it was after the previous batch's last event, so that a
        # history split between two batches is replayed once, not read again.
        carried: Cargo | None = None
        while True:
            with transaction.atomic(using=self.using):
                # Events and their rows are written together: keep writers out while
                # both are read, or a new event's row would look like an extra one.
                self._lock_events()
                diff, carried = self._compare(after, carried)
                if repair:
                    self._repair(diff)
            yield diff
            if diff.last_key is None:
                return
            after = diff.last_key

    def _lock_events(self) -> None:
        connection = connections[self.using]
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(StoredEventRecord._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
                # A store just restored or bulk-loaded has no statistics yet (nor ever,
                # without autovacuum): PostgreSQL then reads and sorts all the events
                # after the key, each batch. Walking the index is right at any size.
                cursor.execute("SET LOCAL enable_sort = off")

    def _events(self) -> QuerySet[StoredEventRecord]:
        return StoredEventRecord.objects.using(self.using).filter(
            application_name=self.application_name,
            topic__startswith=CARGO_TOPIC_PREFIX,
        )

    def _rows(self) -> QuerySet[EventTimestamp]:
        return EventTimestamp.objects.using(self.using).filter(
            application_name=self.application_name
        )

    def _compare(
        self, after: Key | None, carried: Cargo | None
    ) -> tuple[BatchDiff, Cargo | None]:
        events = self._events()
        if after is not None:
            events = self._events_after(events, after)
        # Tuples, not model instances: those would cost a third more.
        found: list[tuple[UUID, int, str, bytes | memoryview]] = list(
            events.order_by("originator_id", "originator_version").values_list(
                "originator_id", "originator_version", "topic", "state"
            )[: self.batch_size]
        )
        last_key = None
        if len(found) == self.batch_size:
            last_key = (found[-1][0], found[-1][1])
        expected: dict[Key, IndexRow] = {}
        for originator_id, version, topic, state in found:
            stored = StoredEvent(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state) if isinstance(state, memoryview) else state,
            )
            row, carried = self._expected(stored, carried)
            if row is not None:
                expected[(row.originator_id, row.originator_version)] = row
        rows = self._rows()
        if after is not None:
            rows = rows.filter(_after(after))
        if last_key is not None:
            rows = rows.filter(_up_to(last_key))
        diff = BatchDiff(events=len(found), last_key=last_key)
        for values in rows.values_list(
            "pk", "originator_id", "originator_version", "timestamp", *STATE_COLUMNS
        ).iterator():
            pk, originator_id, version, timestamp, *state = values
            stored_row = IndexRow(originator_id, version, timestamp, tuple(state), pk)
            wanted = expected.pop((originator_id, version), None)
            if wanted is None:
                diff.extra.append(stored_row)
            elif stored_row.differences(wanted):
                diff.wrong.append((stored_row, wanted))
        diff.missing = list(expected.values())
        return diff, carried

    def _events_after(
        self, events: QuerySet[StoredEventRecord], key: Key
    ) -> QuerySet[StoredEventRecord]:
        # A row-value comparison is one range on the unique index.
        connection = connections[self.using]
        column = connection.ops.quote_name
        field = StoredEventRecord._meta.get_field("originator_id")
        return events.extra(
            where=[
                f"({column('originator_id')}, {column('originator_version')}) "
                "> (%s, %s)"
            ],
            params=[field.get_db_prep_value(key[0], connection), key[1]],
        )

    def _expected(
        self, stored: StoredEvent, carried: Cargo | None
    ) -> tuple[IndexRow | None, Cargo | None]:
        # The row the event should have, and the cargo as it is after the event.
        try:
            event: Any = self.app.mapper.to_domain_event(stored)
        except Exception as error:
            msg = (
                f"Cannot decode the stored event {stored.originator_id} "
                f"v{stored.originator_version} ({stored.topic}): {error!r}. "
                "Are the application's COMPRESSOR_TOPIC, CIPHER_TOPIC and "
                "CIPHER_KEY the ones it was written with?"
            )
            raise UndecodableEventError(msg) from error
        if not isinstance(event, INDEXED_EVENTS):
            return None, carried
        version = stored.originator_version
        try:
            if version == 1:
                base = None
            elif (
                carried is not None
                and carried.id == stored.originator_id
                and carried.version == version - 1
            ):
                base = carried
            else:
                # The first event of a resumed run: read the state it follows.
                base = cast(
                    Cargo,
                    self.app.repository.get(
                        cast(UUID, stored.originator_id), version=version - 1
                    ),
                )
            cargo = apply(event, base)
        except Exception as error:
            msg = (
                f"Cannot replay cargo {stored.originator_id} up to version "
                f"{version}: {error!r}. Its stored events are incomplete or out of "
                "order."
            )
            raise UndecodableEventError(msg) from error
        originator_id, version, timestamp, *state = index_row(event, cargo)
        return IndexRow(originator_id, version, timestamp, tuple(state)), cargo

    def _repair(self, diff: BatchDiff) -> None:
        rows = self._rows()
        if diff.extra:
            # First, so that a version whose row was extra can be inserted anew.
            rows.filter(pk__in=[row.pk for row in diff.extra]).delete()
        if diff.wrong:
            fixed = [
                EventTimestamp(pk=stored.pk, **_columns(wanted))
                for stored, wanted in diff.wrong
            ]
            rows.bulk_update(fixed, ["timestamp", *STATE_COLUMNS])
        if diff.missing:
            # A rebuild running beside this one may have just inserted the same rows.
            rows.bulk_create(
                [
                    EventTimestamp(
                        application_name=self.application_name,
                        originator_id=row.originator_id,
                        originator_version=row.originator_version,
                        **_columns(row),
                    )
                    for row in diff.missing
                ],
                ignore_conflicts=True,
            )


def _columns(row: IndexRow) -> dict[str, Any]:
    return {
        "timestamp": row.timestamp,
        **dict(zip(STATE_COLUMNS, row.state, strict=True)),
    }


def _after(key: Key) -> Q:
    originator_id, version = key
    # The leading >= lets the database start an index range scan at the key.
    return Q(originator_id__gte=originator_id) & (
        Q(originator_id__gt=originator_id) | Q(originator_version__gt=version)
    )


def _up_to(key: Key) -> Q:
    originator_id, version = key
    return Q(originator_id__lte=originator_id) & (
        Q(originator_id__lt=originator_id) | Q(originator_version__lte=version)
    )
