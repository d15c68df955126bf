"""A cargo's timeline: its extent, runs of its events, and their strip."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from cargotime.admin.display import describe_event, event_name, event_title
from cargotime.application import SearchableTimestampsApplication

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
    # The class name, as the JSON's "type"; the title is the kind of event in words.
    name: str
    phrase: str
    title: str


@dataclass(frozen=True)
class Page:
    """A run of consecutive events, and the cursors of the runs either side."""

    entries: list[Entry]
    before: int | None
    after: int | None


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


def to_entry(event: Any) -> Entry:
    """Return a domain event of the cargo as a timeline entry."""
    return Entry(
        version=event.originator_version,
        timestamp=event.timestamp,
        name=event_name(event),
        phrase=describe_event(event),
        title=event_title(event),
    )


# Marks keep this far (in percent) from the strip's ends, so none is cut in half.
MARGIN = 2.0


@dataclass(frozen=True)
class Mark:
    """One event on the strip."""

    x: str
    entry: Entry
    href: str
    current: bool


@dataclass(frozen=True)
class Strip:
    """The whole history as a line, the listed events on it, and the instant."""

    marks: list[Mark]
    band_x: str
    band_width: str
    instant_x: str
    instant_outside: str


def build_strip(
    span: Span,
    entries: Sequence[Entry],
    *,
    current: Entry,
    instant: datetime,
    link: Callable[[int], str],
) -> Strip:
    """Place *entries*, the *current* event and *instant* along the whole history."""

    def place(entry: Entry) -> float:
        return _position(span, entry.timestamp, entry.version)

    others = [entry for entry in entries if entry.version != current.version]
    marks = [
        Mark(_percent(place(entry)), entry, link(entry.version), False)
        for entry in others
    ]
    # Drawn even when the timeline is paged away from it, and last: SVG paints in
    # document order, so it lies on top of its neighbours.
    marks.append(Mark(_percent(place(current)), current, link(current.version), True))
    start = place(entries[0]) if entries else MARGIN
    end = place(entries[-1]) if entries else 100 - MARGIN
    outside = ""
    if instant < span.first_timestamp:
        outside = "before"
    elif instant > span.last_timestamp:
        outside = "after"
    return Strip(
        marks=marks,
        band_x=_percent(start - 1),
        band_width=_percent(end - start + 2),
        instant_x=_percent(_position(span, instant, current.version)),
        instant_outside=outside,
    )


def _position(span: Span, moment: datetime, version: int) -> float:
    total = (span.last_timestamp - span.first_timestamp).total_seconds()
    if total > 0:
        fraction = (moment - span.first_timestamp).total_seconds() / total
    elif span.last_version > span.first_version:
        # Every event at one instant: spread them by version instead.
        fraction = (version - span.first_version) / (
            span.last_version - span.first_version
        )
    else:
        fraction = 0.5
    fraction = min(1.0, max(0.0, fraction))
    return MARGIN + fraction * (100 - 2 * MARGIN)


def _percent(value: float) -> str:
    # Formatted here, not in the template, so that no locale writes "12,5%".
    return f"{max(0.0, min(100.0, value)):.2f}%"
