"""Rebuild a cargo as it was at an instant or a version, read-only, for the admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from cargotime.admin.display import Change, changed_fields
from cargotime.admin.timeline import (
    Entry,
    Page,
    Span,
    read_between,
    read_entry,
    read_span,
)
from cargotime.application import SearchableTimestampsApplication
from cargotime.domain import Cargo


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
            msg = (
                f"Cargo {tracking_id} has no version {version}: its history runs "
                f"from version {span.first_version} to {span.last_version}."
            )
            raise UnknownVersion(msg)
        cargo = cast(Cargo, app.repository.get(tracking_id, version=version))
    else:
        assert instant is not None
        cargo = cargo_at(app, tracking_id, instant, span)
    event = read_entry(app, tracking_id, cargo.version)
    if event is None:
        msg = f"Cargo {tracking_id} has no event with version {cargo.version}."
        raise UnknownVersion(msg)
    # Rebuilding the state before costs a read that only the page shows.
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
    )


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
        msg = f"No cargo has the tracking ID {tracking_id}."
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
        msg = f"Cargo {tracking_id} did not exist yet at that instant."
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
