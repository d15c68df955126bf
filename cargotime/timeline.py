"""A cargo's timeline: its extent, and keyset pages of its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Q, Subquery

from cargotime.application import SearchableTimestampsApplication
from cargotime.models import EventTimestamp
from cargotime.phrases import describe_event, event_name

PAGE_SIZE = 50


@dataclass(frozen=True)
class Span:
    """The first and the last event of a cargo's history."""

    first_version: int
    first_timestamp: datetime
    last_version: int
    last_timestamp: datetime


@dataclass(frozen=True)
class Entry:
    """One event of the timeline, as staff read it."""

    version: int
    timestamp: datetime
    name: str
    phrase: str


@dataclass(frozen=True)
class Page:
    """A run of consecutive events, and the cursors of the runs either side."""

    entries: list[Entry]
    before: int | None
    after: int | None


def read_span(app: SearchableTimestampsApplication, tracking_id: UUID) -> Span | None:
    """Return the extent of the cargo's history, or None for an unknown cargo."""
    rows = EventTimestamp.objects.of(app).filter(originator_id=tracking_id)
    # Two index probes in one query: version 1, and the highest version.
    last = rows.order_by("-originator_version").values("originator_version")[:1]
    ends = list(
        rows.filter(Q(originator_version=1) | Q(originator_version=Subquery(last)))
        .order_by("originator_version")
        .values_list("originator_version", "timestamp")
    )
    if not ends:
        return None
    (first_version, first_timestamp), (last_version, last_timestamp) = ends[0], ends[-1]
    return Span(first_version, first_timestamp, last_version, last_timestamp)


def read_page(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    span: Span,
    *,
    around: int,
    after: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return the events after or before a version, else those around *around*."""
    if before is not None:
        events = app.events.get(tracking_id, lte=before - 1, desc=True, limit=size)
        entries = [to_entry(event) for event in events][::-1]
    else:
        if after is None:
            # Centre the current event, but fill the page near the end.
            after = max(0, min(around - size // 2 - 1, span.last_version - size))
        events = app.events.get(tracking_id, gt=after, limit=size)
        entries = [to_entry(event) for event in events]
    if not entries:
        return Page([], None, None)
    first, last = entries[0].version, entries[-1].version
    return Page(
        entries,
        before=first if first > span.first_version else None,
        after=last if last < span.last_version else None,
    )


def read_between(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    lower: int,
    upper: int,
    *,
    size: int = PAGE_SIZE,
) -> Page:
    """Return the first events after version *lower* up to version *upper*."""
    events = app.events.get(tracking_id, gt=lower, lte=upper, limit=size)
    entries = [to_entry(event) for event in events]
    last = entries[-1].version if entries else lower
    return Page(entries, before=None, after=last if last < upper else None)


def read_entry(
    app: SearchableTimestampsApplication, tracking_id: UUID, version: int
) -> Entry | None:
    """Return the event with *version*, or None."""
    events = list(app.events.get(tracking_id, gt=version - 1, lte=version))
    return to_entry(events[0]) if events else None


def to_entry(event: Any) -> Entry:
    """Return a domain event of the cargo as a timeline entry."""
    return Entry(
        version=event.originator_version,
        timestamp=event.timestamp,
        name=event_name(event),
        phrase=describe_event(event),
    )
