"""Rebuild a cargo as it was at an instant or a version, read-only, for the admin."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import CanMutateProtocol
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from cargotime.admin.display import (
    Change,
    changed_fields,
    describe_event,
    event_name,
    event_title,
)
from cargotime.admin.timeline import (
    PAGE_SIZE,
    Entry,
    Page,
    Span,
    read_between,
    to_entry,
)
from cargotime.application import SearchableTimestampsApplication
from cargotime.cargo_states import STATE_COLUMNS, state_values
from cargotime.domain import Cargo
from cargotime.persistence import SearchableTimestampsRecorder, VisitRow


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


def field_sources(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    cargo: Cargo,
    span: Span,
    known: Mapping[int, Entry] | None = None,
) -> dict[str, Entry]:
    """Return, for each field of *cargo*, the event since which it has held its value.

    One query, whatever the length of the history: over the index rows, and for the
    events they name. Events among *known* entries are not decoded again.
    """
    known = known or {}
    recorder = app.recorder
    assert isinstance(recorder, SearchableTimestampsRecorder)
    # Each index column holds its value of today since one past the last version
    # (up to this one) where it held another. The next expected activity is not in
    # the index: a route assignment and every handling event set it, nothing else,
    # so the query reads the latest of them up to this version too.
    found = recorder.select_field_sources(
        tracking_id,
        cargo.version,
        state_values(cargo),
        first_version=span.first_version,
        topics=_SETS_NEXT_ACTIVITY_TOPICS,
    )
    if found is None:
        # Indexed before the index held states: no column can tell, until rebuilt.
        return {}
    differs, stored = found
    since = {
        column: span.first_version if last is None else last + 1
        for column, last in zip(STATE_COLUMNS, differs, strict=True)
    }
    entries = {
        event.originator_version: known.get(event.originator_version)
        or to_entry(app.mapper.to_domain_event(event))
        for event in stored
    }
    # An index row whose event is missing names nothing (`timestamp_index check`
    # reports it): that field shows no source rather than breaking the page.
    sources = {
        _FIELD_OF_COLUMN.get(column, column): entries[version]
        for column, version in since.items()
        if version in entries
    }
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
_SETS_NEXT_ACTIVITY_TOPICS = (
    get_topic(Cargo.RouteAssigned),
    get_topic(Cargo.HandlingEventRegistered),
)


def _version(entry: Entry) -> int:
    return entry.version


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
        raise NotYetBooked(_not_yet_booked(tracking_id), span) from None


def _cargo_or_none(
    app: SearchableTimestampsApplication, tracking_id: UUID, instant: datetime
) -> Cargo | None:
    try:
        return app.get_cargo_at_timestamp(tracking_id, instant)
    except AggregateNotFoundError:
        return None


def read_visit(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    *,
    instant: datetime | None = None,
    version: int | None = None,
    with_changes: bool = True,
    after: int | None = None,
    before: int | None = None,
    size: int = PAGE_SIZE,
    words: bool = True,
) -> tuple[Visit, Page]:
    """Return the visit and its page of the timeline, read in one statement.

    As the several reads it replaced answer (tests/admin/reference_reads.py), but a
    statement is one snapshot: the JSON needs no transaction around it, and pays one
    round trip. Without *words*, the
    events are put in words only if something reads them (the JSON does not).
    """
    recorder = app.recorder
    assert isinstance(recorder, SearchableTimestampsRecorder)
    if before is not None:
        window: tuple[int, int] | None = (before - 1 - size, before - 1)
    elif after is not None:
        window = (after, after + size)
    else:
        window = None
    rows = recorder.select_visit(
        tracking_id,
        timestamp=instant,
        version=version,
        # The page wants the state before the event as well: a snapshot before it.
        back=1 if with_changes else 0,
        window=window,
        size=size,
        snapshot=app.snapshots is not None,
        # What the JSON reads of the events it does not replay.
        timestamps=not words,
    )
    return _visit_from_rows(
        app,
        tracking_id,
        rows,
        instant=instant,
        version=version,
        with_changes=with_changes,
        after=after,
        before=before,
        size=size,
        words=words,
    )


# Rows of the statement: (part, version, topic, state, timestamp).
_SPAN, _AT, _SNAPSHOT, _EVENT = 0, 1, 2, 3


def _visit_from_rows(
    app: SearchableTimestampsApplication,
    tracking_id: UUID,
    rows: list[VisitRow],
    *,
    instant: datetime | None,
    version: int | None,
    with_changes: bool,
    after: int | None,
    before: int | None,
    size: int,
    words: bool,
) -> tuple[Visit, Page]:
    ends: list[tuple[int, datetime]] = []
    shown: int | None = None
    snapshot: StoredEvent | None = None
    stored: dict[int, StoredEvent] = {}
    indexed: dict[int, datetime] = {}
    for part, number, topic, state, moment in rows:
        if part == _SPAN:
            assert moment is not None
            ends.append((number, moment))
        elif part == _AT:
            shown = number
        else:
            assert topic is not None and state is not None
            record = StoredEvent(
                originator_id=tracking_id,
                originator_version=number,
                topic=topic,
                state=state,
            )
            if part == _SNAPSHOT:
                snapshot = record
            else:
                stored[number] = record
                if moment is not None:
                    indexed[number] = moment
    if not ends:
        raise UnknownCargo(_unknown_cargo(tracking_id))
    (first_version, first_timestamp), (last_version, last_timestamp) = ends[0], ends[-1]
    span = Span(first_version, first_timestamp, last_version, last_timestamp)
    if version is not None and not first_version <= version <= last_version:
        raise UnknownVersion(_no_version(tracking_id, version, span))
    if shown is None:
        if version is not None:
            raise UnknownVersion(_no_event(tracking_id, version))
        raise NotYetBooked(_not_yet_booked(tracking_id), span)
    decoded: dict[int, Any] = {}

    def event_at(number: int) -> Any:
        if number not in decoded:
            decoded[number] = app.mapper.to_domain_event(stored[number])
        return decoded[number]

    # Replay from the snapshot: the state before the event shown on the way.
    cargo: Cargo | None = None
    start = 0
    if snapshot is not None:
        cargo = _mutate(app.mapper.to_domain_event(snapshot), None)
        start = snapshot.originator_version
    before_state: Cargo | None = None
    for number in range(start + 1, shown + 1):
        if number not in stored:
            break
        if number == shown and with_changes:
            before_state = copy.deepcopy(cargo)
        cargo = _mutate(event_at(number), cargo)
    if cargo is None or cargo.version != shown or shown not in stored:
        raise UnknownVersion(_no_event(tracking_id, shown))
    entry: Callable[[int], Entry]
    if words:

        def entry(number: int) -> Entry:
            return to_entry(event_at(number))

    else:

        def entry(number: int) -> Entry:
            # What the JSON reads of an event it did not replay, the index row and
            # the topic tell: decoding it would cost more than the rest of it.
            moment = indexed.get(number)
            if number in decoded or moment is None:
                return _entry_in_words_when_read(event_at(number))
            return _undecoded_entry(app, stored[number], moment)

    event = entry(shown)
    page = _page(
        entry,
        stored,
        span,
        shown,
        after=after,
        before=before,
        size=size,
    )
    visit = Visit(
        tracking_id=tracking_id,
        cargo=cargo,
        instant=event.timestamp if instant is None else instant,
        span=span,
        event=event,
        changes=changed_fields(before_state, cargo) if with_changes else [],
        sources=field_sources(
            app,
            tracking_id,
            cargo,
            span,
            # The page's events, in words already.
            {entry.version: entry for entry in (*page.entries, event)} if words else {},
        )
        if with_changes
        else {},
    )
    return visit, page


def _page(
    entry_at: Callable[[int], Entry],
    stored: dict[int, StoredEvent],
    span: Span,
    around: int,
    *,
    after: int | None,
    before: int | None,
    size: int,
) -> Page:
    # The timeline's paging rule (the reference read_page() of the tests), on the
    # versions the statement read: a history's versions run from one without a gap.
    if before is not None:
        numbers = range(max(0, before - 1 - size) + 1, before)
    else:
        if after is None:
            after = max(0, min(around - size // 2 - 1, span.last_version - size))
        numbers = range(after + 1, after + size + 1)
    entries = [entry_at(number) for number in numbers if number in stored]
    if not entries:
        return Page([], None, None)
    first, last = entries[0].version, entries[-1].version
    return Page(
        entries,
        before=first if first > span.first_version else None,
        after=last if last < span.last_version else None,
    )


# Django's lazy strings: the words cost their translation only when shown. Made
# once: each lazy() call builds a class.
_phrase_when_read = lazy(describe_event, str)
_title_when_read = lazy(event_title, str)


def _describe_stored(app: SearchableTimestampsApplication, stored: StoredEvent) -> str:
    return describe_event(app.mapper.to_domain_event(stored))


def _title_stored(app: SearchableTimestampsApplication, stored: StoredEvent) -> str:
    return event_title(app.mapper.to_domain_event(stored))


_stored_phrase_when_read = lazy(_describe_stored, str)
_stored_title_when_read = lazy(_title_stored, str)


def _undecoded_entry(
    app: SearchableTimestampsApplication, stored: StoredEvent, timestamp: datetime
) -> Entry:
    return Entry(
        version=stored.originator_version,
        timestamp=timestamp,
        name=resolve_topic(stored.topic).__name__,
        phrase=_stored_phrase_when_read(app, stored),
        title=_stored_title_when_read(app, stored),
    )


def _entry_in_words_when_read(event: Any) -> Entry:
    return Entry(
        version=event.originator_version,
        timestamp=event.timestamp,
        name=event_name(event),
        phrase=_phrase_when_read(event),
        title=_title_when_read(event),
    )


def _mutate(event: Any, cargo: Cargo | None) -> Cargo:
    return cast(Cargo, cast(CanMutateProtocol[Cargo], event).mutate(cargo))


def _no_version(tracking_id: UUID, version: int, span: Span) -> str:
    return _(
        "Cargo %(tracking_id)s has no version %(version)s: its history runs "
        "from version %(first)s to %(last)s."
    ) % {
        "tracking_id": tracking_id,
        "version": version,
        "first": span.first_version,
        "last": span.last_version,
    }


def _no_event(tracking_id: UUID, version: int) -> str:
    return _("Cargo %(tracking_id)s has no event with version %(version)s.") % {
        "tracking_id": tracking_id,
        "version": version,
    }


def _unknown_cargo(tracking_id: UUID) -> str:
    return _("No cargo has the tracking ID %(tracking_id)s.") % {
        "tracking_id": tracking_id
    }


def _not_yet_booked(tracking_id: UUID) -> str:
    return _("Cargo %(tracking_id)s did not exist yet at that instant.") % {
        "tracking_id": tracking_id
    }
