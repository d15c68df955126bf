"""Where a cargo's events fall on a strip, for the time-travel page's SVG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cargotime.timeline import Entry, Span

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
