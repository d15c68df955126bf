"""The admin's time travel as several queries, as it read before read_visit().

The one statement of cargotime.admin.visits.read_visit() is held to these reads:
tests/admin/test_visits.py compares the two over every version, instant and page.
Their messages are the admin's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast
from uuid import UUID

from django.db.models import Q, Subquery

from cargotime.admin.display import changed_fields
from cargotime.admin.timeline import PAGE_SIZE, Entry, Page, Span, to_entry
from cargotime.admin.visits import (
    UnknownCargo,
    UnknownVersion,
    Visit,
    _no_event,
    _no_version,
    _unknown_cargo,
    cargo_at,
    field_sources,
)
from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import Cargo
from cargotime.models import EventTimestamp


def visit(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    *,
    instant: datetime | None = None,
    version: int | None = None,
    with_changes: bool = True,
) -> Visit:
    """Return the cargo as it was at *instant*, or at *version*."""
    span = require_span(app, tracking_id)
    if version is not None:
        if not span.first_version <= version <= span.last_version:
            raise UnknownVersion(_no_version(tracking_id, version, span))
        cargo = cast(Cargo, app.repository.get(tracking_id, version=version))
    else:
        assert instant is not None
        cargo = cargo_at(app, tracking_id, instant, span)
    event = read_entry(app, tracking_id, cargo.version)
    if event is None:
        raise UnknownVersion(_no_event(tracking_id, cargo.version))
    # Rebuilding the state before, and where each field came from, cost reads that
    # only the page shows.
    changes = (
        changed_fields(state_before(app, tracking_id, cargo.version), cargo)
        if with_changes
        else []
    )
    return Visit(
        tracking_id=tracking_id,
        cargo=cargo,
        instant=event.timestamp if instant is None else instant,
        span=span,
        event=event,
        changes=changes,
        sources=field_sources(app, tracking_id, cargo, span) if with_changes else {},
    )


def require_span(app: SearchableTimestampsApplication, tracking_id: UUID) -> Span:
    """Return the extent of the cargo's history; raise UnknownCargo if it has none."""
    span = read_span(app, tracking_id)
    if span is None:
        raise UnknownCargo(_unknown_cargo(tracking_id))
    return span


def state_before(
    app: SearchableTimestampsApplication, tracking_id: UUID, version: int
) -> Cargo | None:
    """Return the cargo just before its event *version*, or None before its first."""
    if version <= 1:
        return None
    return cast(Cargo, app.repository.get(tracking_id, version=version - 1))


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


def read_entry(
    app: SearchableTimestampsApplication, tracking_id: UUID, version: int
) -> Entry | None:
    """Return the event with *version*, or None."""
    events = list(app.events.get(tracking_id, gt=version - 1, lte=version))
    return to_entry(events[0]) if events else None
