"""Judge the HTTP load's answers by the stored events alone, and find lost events.

Each time-travel answer is held against a replay of the cargo's stored events (never a
snapshot, never the index) and against what the client knew had been committed when it
asked. tests/load_http.py collects the answers; this module only judges them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder

from cargotime.application import SearchableTimestampsApplication

# The answer's key for its timeline page; every other key is the cargo's state.
TIMELINE = "events"


@dataclass(frozen=True)
class Committed:
    """An event a writer saw committed: it must be stored and indexed."""

    tracking_id: str
    version: int
    timestamp: datetime
    type: str


@dataclass(frozen=True)
class Question:
    """One request: a cargo at an instant, or at a version, and what the client knew."""

    tracking_id: str
    at: datetime | None = None
    version: int | None = None
    # The highest version the client had seen committed with a timestamp at or
    # before *at* (0: none): the answer may not be older than that.
    known: int = 0

    def __str__(self) -> str:
        asked = f"at {self.at.isoformat()}" if self.at else f"version {self.version}"
        return f"{self.tracking_id} {asked}"


@dataclass(frozen=True)
class Answer:
    """The server's reply to a question: its status, its JSON and how long it took."""

    question: Question
    status: int
    body: Mapping[str, Any] | None
    seconds: float


@dataclass(frozen=True)
class Step:
    """The cargo after one stored event, as the time-travel JSON shows it."""

    version: int
    timestamp: datetime
    type: str
    state: Mapping[str, Any]


def replay(app: SearchableTimestampsApplication, tracking_id: UUID) -> list[Step]:
    """Return the cargo after each of its stored events, replayed from them alone."""
    # The admin's own encoding of a cargo: what is compared is the state, not its JSON.
    from cargotime.admin.display import event_name
    from cargotime.admin.json_state import cargo_as_json

    steps = []
    cargo: Any = None
    for stored in app.recorder.select_events(tracking_id):
        event: Any = app.mapper.to_domain_event(stored)
        cargo = event.mutate(cargo)
        # Through JSON and back, as the client reads the answer.
        state = json.loads(
            json.dumps(cargo_as_json(tracking_id, cargo, []), cls=DjangoJSONEncoder)
        )
        del state[TIMELINE]
        steps.append(
            Step(event.originator_version, event.timestamp, event_name(event), state)
        )
    return steps


def check_answer(answer: Answer, steps: list[Step]) -> list[str]:
    """Return what is wrong with *answer*, given the cargo's stored *steps*."""
    question = answer.question
    if not steps:
        return [f"{question}: no stored events for a cargo the client knew"]
    if question.at is not None:
        by_then = [step.version for step in steps if step.timestamp <= question.at]
        if not by_then:
            if answer.status == 404:
                return []
            return [
                f"{question}: status {answer.status}, but the cargo was booked only "
                f"at {steps[0].timestamp.isoformat()} (expected 404)"
            ]
        # Committed by the time of asking but invisible to the answer: stale.
        lowest = max((v for v in by_then if v <= question.known), default=1)
        highest = by_then[-1]
    else:
        lowest = highest = question.version or 0
    if answer.status != 200 or answer.body is None:
        return [f"{question}: status {answer.status}, {answer.body!r}"]
    version = answer.body.get("version")
    if not isinstance(version, int) or not lowest <= version <= highest:
        return [
            f"{question}: answered version {version!r}; the stored events and what "
            f"the client knew allow {lowest}..{highest}"
        ]
    problems = []
    if answer.body.get("tracking_id") != question.tracking_id:
        problems.append(f"{question}: tracking_id {answer.body.get('tracking_id')!r}")
    expected = steps[version - 1].state
    shown = {key: value for key, value in answer.body.items() if key != TIMELINE}
    for key in sorted(set(expected) | set(shown)):
        if key != "tracking_id" and shown.get(key) != expected.get(key):
            problems.append(
                f"{question}, version {version}: {key} is {shown.get(key)!r}, the "
                f"replay of the stored events gives {expected.get(key)!r}"
            )
    problems += _timeline_problems(question, answer.body.get(TIMELINE), steps, version)
    return problems


def _timeline_problems(
    question: Question, timeline: object, steps: list[Step], version: int
) -> list[str]:
    if not isinstance(timeline, list):
        return [f"{question}: no timeline, {timeline!r}"]
    problems = []
    listed = set()
    for entry in timeline:
        number = entry.get("version") if isinstance(entry, dict) else None
        if not isinstance(number, int) or not 1 <= number <= len(steps):
            problems.append(f"{question}: timeline entry {entry!r} is no stored event")
            continue
        step = steps[number - 1]
        listed.add(number)
        if (_instant(entry.get("timestamp")), entry.get("type")) != (
            step.timestamp,
            step.type,
        ):
            problems.append(
                f"{question}: timeline entry {entry!r}, but the stored event is at "
                f"{step.timestamp.isoformat()}, {step.type}"
            )
    if version not in listed:
        problems.append(f"{question}: the timeline leaves out version {version}")
    return problems


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def lost_events(
    committed: Iterable[Committed],
    steps: Mapping[str, list[Step]],
    indexed: set[tuple[str, int, datetime]],
) -> list[str]:
    """Return each committed event that is not stored as committed, or not indexed."""
    problems = []
    for event in committed:
        history = steps.get(event.tracking_id, [])
        stored = history[event.version - 1] if event.version <= len(history) else None
        what = f"{event.tracking_id} version {event.version} ({event.type})"
        if stored is None or (stored.timestamp, stored.type) != (
            event.timestamp,
            event.type,
        ):
            problems.append(f"{what}: committed, but not stored as committed")
        elif (event.tracking_id, event.version, event.timestamp) not in indexed:
            problems.append(f"{what}: stored, but the timestamp index lacks it")
    return problems


def indexed_rows(
    app: SearchableTimestampsApplication, tracking_ids: Iterable[str]
) -> set[tuple[str, int, datetime]]:
    """Return (tracking ID, version, timestamp) of the index rows of these cargos."""
    from cargotime.models import EventTimestamp

    rows = EventTimestamp.objects.of(app).filter(
        originator_id__in=[UUID(tracking_id) for tracking_id in tracking_ids]
    )
    return {
        (str(originator_id), version, timestamp)
        for originator_id, version, timestamp in rows.values_list(
            "originator_id", "originator_version", "timestamp"
        )
    }
