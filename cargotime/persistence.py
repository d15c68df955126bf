"""eventsourcing-django's recorder, writing the timestamp index with the events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing_django import factory as django_factory
from eventsourcing_django.models import StoredEventRecord
from eventsourcing_django.recorders import DjangoApplicationRecorder, errors

from cargotime.application import EVENT_TIMESTAMPS_KWARG
from cargotime.models import EventTimestamp

# (originator_id, originator_version, timestamp), as the application passes them.
IndexRow = tuple[UUID, int, datetime]


class SearchableTimestampsRecorder(DjangoApplicationRecorder):
    """Store events and their timestamp index rows in one transaction."""

    def _insert_events(
        self, stored_events: list[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        # Already inside the recorder's transaction.atomic(using=self.using).
        records = self.model._default_manager.using(self.using).bulk_create(
            [
                self.model(
                    application_name=self.application_name,
                    originator_id=event.originator_id,
                    originator_version=event.originator_version,
                    topic=event.topic,
                    state=event.state,
                )
                for event in stored_events
            ]
        )
        rows: list[IndexRow] = kwargs.get(EVENT_TIMESTAMPS_KWARG) or []
        if rows:
            EventTimestamp.objects.using(self.using).bulk_create(
                [
                    EventTimestamp(
                        originator_id=originator_id,
                        originator_version=version,
                        timestamp=timestamp,
                    )
                    for originator_id, version, timestamp in rows
                ]
            )
        return [record.pk for record in records]

    @errors
    def get_version_at_timestamp(
        self, originator_id: UUID, timestamp: datetime
    ) -> int | None:
        """Return the version the aggregate had at *timestamp*, or None before it."""
        return (
            EventTimestamp.objects.using(self.using)
            .filter(originator_id=originator_id, timestamp__lte=timestamp)
            .order_by("-timestamp", "-originator_version")
            .values_list("originator_version", flat=True)
            .first()
        )


class Factory(django_factory.Factory):
    """eventsourcing-django's factory, with the searchable timestamps recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return SearchableTimestampsRecorder(
            application_name=self.env.name,
            model=StoredEventRecord,
            using=self.db_alias,
        )
