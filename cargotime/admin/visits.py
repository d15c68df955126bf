"""Rebuild a cargo as it was at an instant or a version, read-only, for the admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from uuid import UUID

from django.db.models import Count, Max, Q, Subquery
from django.utils.translation import gettext as _
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from eventsourcing_django.recorders import DjangoApplicationRecorder

from cargotime.admin.display import Change, changed_fields
from cargotime.admin.timeline import (
    Entry,
    Page,
    Span,
    read_between,
    read_entry,
    read_span,
    to_entry,
)
from cargotime.application import SearchableTimestampsApplication
from cargotime.cargo_states import STATE_COLUMNS, state_values
from cargotime.domain import Cargo
from cargotime.models import EventTimestamp


class TimeTravelError(Exception):
    """A cargo, an instant or a version that cannot be shown."""


class UnknownCargo(TimeTravelError):
    """No cargo has the tracking ID."""


class NotYetBooked(TimeTravelError):
    """The instant is before the cargo's first event."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.span = span


class UnknownVersion(TimeTravelError):
    """The cargo's history has no event with the version."""


@dataclass(frozen=True)
class Visit:
    """The cargo as it was, the event that made it so, and what that event changed."""

    tracking_id: UUID
    cargo: Cargo
    instant: datetime
    span: Span
    event: Entry
    changes: list[Change]
    # For each field's key, the event since which it has held its value; empty
    # where the index holds no states yet (rows from before it had them).
    sources: dict[str, Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """How the cargo changed from an earlier instant to a later one."""

    earlier: datetime
    later: datetime
    earlier_version: int | None
    later_version: int
    changes: list[Change]
    events: Page


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
            msg = _(
                "Cargo %(tracking_id)s has no version %(version)s: its history runs "
                "from version %(first)s to %(last)s."
            ) % {
                "tracking_id": tracking_id,
                "version": version,
                "first": span.first_version,
                "last": span.last_version,
            }
            raise UnknownVersion(msg)
        cargo = cast(Cargo, app.repository.get(tracking_id, version=version))
    else:
        assert instant is not None
        cargo = cargo_at(app, tracking_id, instant, span)
    event = read_entry(app, tracking_id, cargo.version)
    if event is None:
        msg = _("Cargo %(tracking_id)s has no event with version %(version)s.") % {
            "tracking_id": tracking_id,
            "version": cargo.version,
        }
        raise UnknownVersion(msg)
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


def field_sources(
    app: SearchableTimestampsApplication, tracking_id: UUID, cargo: Cargo, span: Span
) -> dict[str, Entry]:
    """Return, for each field of *cargo*, the event since which it has held its value.

    Two queries, whatever the length of the history: one over the index rows, and one
    for the events they name.
    """
    since = _since_versions(app, tracking_id, cargo, span)
    if since is None:
        return {}
    entries = _entries_with_plans(
        app, tracking_id, cargo.version, {span.first_version, *since.values()}
    )
    # An index row whose event is missing names nothing (`timestamp_index check`
    # reports it): that field shows no source rather than breaking the page.
    sources = {
        _FIELD_OF_COLUMN.get(column, column): entries[version]
        for column, version in since.items()
        if version in entries
    }
    # The next expected activity is not in the index. A route assignment and every
    # handling event set it, nothing else: the second query read the latest of
    # them up to this version too.
    plans = [e for e in entries.values() if e.name in _SETS_NEXT_ACTIVITY]
    source = max(plans, key=_version) if plans else entries.get(span.first_version)
    if source is not None:
        sources["next_expected_activity"] = source
    return sources


# The index column "route" holds what the page calls the itinerary.
_FIELD_OF_COLUMN = {"route": "itinerary"}
_SETS_NEXT_ACTIVITY = {
    Cargo.RouteAssigned.__name__,
    Cargo.HandlingEventRegistered.__name__,
}


def _version(entry: Entry) -> int:
    return entry.version


def _since_versions(
    app: SearchableTimestampsApplication, tracking_id: UUID, cargo: Cargo, span: Span
) -> dict[str, int] | None:
    # Each index column holds its value of today since one past the last version
    # (up to this one) where it held another: one aggregate reads them all.
    values = dict(zip(STATE_COLUMNS, state_values(cargo), strict=True))
    rows = EventTimestamp.objects.of(app).filter(
        originator_id=tracking_id, originator_version__lte=cargo.version
    )
    found = rows.aggregate(
        stateless=Count("pk", filter=Q(origin__isnull=True)),
        **{
            f"{column}_differs": Max(
                "originator_version", filter=_differs(column, value)
            )
            for column, value in values.items()
        },
    )
    if found["stateless"]:
        # Indexed before the index held states: no column can tell, until rebuilt.
        return None
    return {
        column: span.first_version
        if found[f"{column}_differs"] is None
        else found[f"{column}_differs"] + 1
        for column in values
    }


def _differs(column: str, value: object) -> Q:
    # NULL is a value here: Django's negated lookup keeps the NULL rows.
    if value is None:
        return Q(**{f"{column}__isnull": False})
    return ~Q(**{column: value})


def _entries_with_plans(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    version: int,
    versions: set[int],
) -> dict[int, Entry]:
    # The events at *versions* and, in the same query, the latest event up to
    # *version* that set the next expected activity.
    recorder = app.recorder
    assert isinstance(recorder, DjangoApplicationRecorder)
    records = recorder.model._default_manager.using(recorder.using).filter(
        application_name=recorder.application_name, originator_id=tracking_id
    )
    up_to = records.filter(originator_version__lte=version).order_by(
        "-originator_version"
    )
    topics = [
        get_topic(Cargo.RouteAssigned),
        get_topic(Cargo.HandlingEventRegistered),
    ]
    latest_plan = up_to.filter(topic__in=topics).values("originator_version")[:1]
    found = records.filter(
        Q(originator_version__in=sorted(versions))
        | Q(originator_version=Subquery(latest_plan))
    ).values_list("originator_version", "topic", "state")
    entries = {}
    for number, topic, state in found:
        stored = StoredEvent(
            originator_id=tracking_id,
            originator_version=number,
            topic=topic,
            state=bytes(state) if isinstance(state, memoryview) else state,
        )
        entries[number] = to_entry(app.mapper.to_domain_event(stored))
    return entries


def compare(
    app: SearchableTimestampsApplication, current: Visit, other: datetime
) -> Comparison:
    """Return what changed between the visit's instant and *other*, either way round."""
    earlier, later = sorted([current.instant, other])
    if other == later:
        later_cargo = cargo_at(app, current.tracking_id, other, current.span)
        earlier_cargo: Cargo | None = current.cargo
    else:
        later_cargo = current.cargo
        earlier_cargo = _cargo_or_none(app, current.tracking_id, other)
    earlier_version = earlier_cargo.version if earlier_cargo else None
    return Comparison(
        earlier=earlier,
        later=later,
        earlier_version=earlier_version,
        later_version=later_cargo.version,
        changes=changed_fields(earlier_cargo, later_cargo),
        events=read_between(
            app, current.tracking_id, earlier_version or 0, later_cargo.version
        ),
    )


def require_span(app: SearchableTimestampsApplication, tracking_id: UUID) -> Span:
    """Return the extent of the cargo's history; raise UnknownCargo if it has none."""
    span = read_span(app, tracking_id)
    if span is None:
        msg = _("No cargo has the tracking ID %(tracking_id)s.") % {
            "tracking_id": tracking_id
        }
        raise UnknownCargo(msg)
    return span


def cargo_at(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    instant: datetime,
    span: Span,
) -> Cargo:
    """Return the cargo at *instant*; raise NotYetBooked before its first event."""
    try:
        return app.get_cargo_at_timestamp(tracking_id, instant)
    except AggregateNotFoundError:
        msg = _("Cargo %(tracking_id)s did not exist yet at that instant.") % {
            "tracking_id": tracking_id
        }
        raise NotYetBooked(msg, span) from None


def state_before(
    app: SearchableTimestampsApplication, tracking_id: UUID, version: int
) -> Cargo | None:
    """Return the cargo just before its event *version*, or None before its first."""
    if version <= 1:
        return None
    return cast(Cargo, app.repository.get(tracking_id, version=version - 1))


def _cargo_or_none(
    app: SearchableTimestampsApplication, tracking_id: UUID, instant: datetime
) -> Cargo | None:
    try:
        return app.get_cargo_at_timestamp(tracking_id, instant)
    except AggregateNotFoundError:
        return None
