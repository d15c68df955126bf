"""The HTTP load's checks: right answers pass, every kind of wrong one is caught."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.test import TestCase
from django.urls import reverse

from cargotime.apps import get_application
from cargotime.domain import HandlingActivity, Location
from cargotime.models import EventTimestamp
from tests.load import book_routed_cargo
from tests.load_replay import (
    Answer,
    Committed,
    Question,
    check_answer,
    indexed_rows,
    lost_events,
    replay,
)


class LoadReplayTests(TestCase):
    def setUp(self) -> None:
        self.app = get_application()
        self.tracking_id = book_routed_cargo(self.app)
        self.app.register_handling_event(
            self.tracking_id, None, Location.HONGKONG, HandlingActivity.RECEIVE
        )
        self.app.register_handling_event(
            self.tracking_id, "V1", Location.HONGKONG, HandlingActivity.LOAD
        )
        self.steps = replay(self.app, self.tracking_id)
        user = get_user_model().objects.create_superuser("ops", password="x" * 12)
        self.client.force_login(user)

    def ask(self, question: Question) -> Answer:
        """Ask the time-travel JSON, as the load's clients do."""
        query: dict[str, Any] = {"tracking_id": question.tracking_id, "format": "json"}
        if question.at is not None:
            query["at"] = question.at.isoformat()
        else:
            query["version"] = question.version
        response = self.client.get(reverse("admin:cargotime_time_travel"), query)
        return Answer(question, response.status_code, json.loads(response.content), 0.0)

    def at(self, version: int, known: int | None = None) -> Question:
        step = self.steps[version - 1]
        return Question(str(self.tracking_id), at=step.timestamp, known=known or 0)

    def test_replay_has_a_step_per_stored_event(self) -> None:
        assert [step.version for step in self.steps] == [1, 2, 3, 4]
        assert [step.type for step in self.steps] == [
            "BookingStarted",
            "RouteAssigned",
            "HandlingEventRegistered",
            "HandlingEventRegistered",
        ]
        assert self.steps[-1].state["transport_status"] == "ONBOARD_CARRIER"
        assert self.steps[-1].state["current_voyage_number"] == "V1"
        assert "events" not in self.steps[-1].state

    def test_the_servers_answers_pass(self) -> None:
        questions = [self.at(version, known=version) for version in range(1, 5)] + [
            Question(str(self.tracking_id), version=2, known=2),
            # Knowing nothing, any answer the instant allows passes.
            self.at(3),
            # An instant between two events: the earlier one.
            replace(self.at(3), at=self.steps[3].timestamp - timedelta(microseconds=1)),
        ]
        for question in questions:
            answer = self.ask(question)
            assert check_answer(answer, self.steps) == [], question

    def test_before_the_booking_a_404_passes_and_anything_else_fails(self) -> None:
        before = replace(self.at(1), at=self.steps[0].timestamp - timedelta(seconds=1))
        answer = self.ask(before)
        assert answer.status == 404
        assert check_answer(answer, self.steps) == []
        wrong = replace(answer, status=200, body=self.ask(self.at(1)).body)
        assert "expected 404" in check_answer(wrong, self.steps)[0]

    def test_a_tampered_field_is_a_mismatch(self) -> None:
        answer = self.ask(self.at(4, known=4))
        body = {**dict(answer.body or {}), "transport_status": "IN_PORT"}
        problems = check_answer(replace(answer, body=body), self.steps)
        assert len(problems) == 1
        assert "transport_status is 'IN_PORT'" in problems[0]
        assert "'ONBOARD_CARRIER'" in problems[0]

    def test_a_missing_or_extra_field_is_a_mismatch(self) -> None:
        body = dict(self.ask(self.at(4, known=4)).body or {})
        del body["itinerary"]
        answer = replace(self.ask(self.at(4)), body={**body, "colour": "red"})
        problems = check_answer(answer, self.steps)
        assert any("itinerary is None" in problem for problem in problems)
        assert any("colour is 'red'" in problem for problem in problems)

    def test_a_stale_answer_is_a_mismatch(self) -> None:
        # The state of version 3 for an instant when the client knew 4 committed.
        stale = self.ask(self.at(3))
        answer = replace(stale, question=self.at(4, known=4))
        problems = check_answer(answer, self.steps)
        assert problems
        assert "answered version 3" in problems[0]
        assert "allow 4..4" in problems[0]

    def test_a_version_after_the_instant_is_a_mismatch(self) -> None:
        later = self.ask(self.at(4))
        answer = replace(later, question=self.at(2, known=2))
        assert "answered version 4" in check_answer(answer, self.steps)[0]

    def test_the_state_of_another_version_is_a_mismatch(self) -> None:
        # The right version number on the wrong state.
        answer = self.ask(self.at(4, known=4))
        earlier = dict(self.ask(self.at(3)).body or {})
        body = {**earlier, "version": 4}
        problems = check_answer(replace(answer, body=body), self.steps)
        assert any("transport_status" in problem for problem in problems)

    def test_a_wrong_timeline_is_a_mismatch(self) -> None:
        answer = self.ask(self.at(4, known=4))
        body = dict(answer.body or {})
        timeline = [dict(entry) for entry in body["events"]]
        timeline[1]["timestamp"] = timeline[0]["timestamp"]
        problems = check_answer(
            replace(answer, body={**body, "events": timeline}), self.steps
        )
        assert any("timeline entry" in problem for problem in problems)
        without_current = [entry for entry in body["events"] if entry["version"] != 4]
        problems = check_answer(
            replace(answer, body={**body, "events": without_current}), self.steps
        )
        assert any("leaves out version 4" in problem for problem in problems)

    def test_an_error_or_a_failed_request_is_a_mismatch(self) -> None:
        question = self.at(2, known=2)
        for status, body in [(500, {"not JSON": "<h1>Server Error</h1>"}), (0, None)]:
            answer = Answer(question, status, body, 0.0)
            assert f"status {status}" in check_answer(answer, self.steps)[0]

    def test_an_event_committed_but_not_stored_or_not_indexed_is_lost(self) -> None:
        committed = [
            Committed(str(self.tracking_id), step.version, step.timestamp, step.type)
            for step in self.steps
        ]
        steps = {str(self.tracking_id): self.steps}
        indexed = indexed_rows(self.app, steps)
        assert len(indexed) == 4
        assert lost_events(committed, steps, indexed) == []

        phantom = replace(committed[-1], version=5)
        moved = replace(committed[1], timestamp=committed[2].timestamp)
        problems = lost_events([phantom, moved], steps, indexed)
        assert len(problems) == 2
        assert all("not stored as committed" in problem for problem in problems)

        EventTimestamp.objects.of(self.app).filter(
            originator_id=self.tracking_id, originator_version=3
        ).delete()
        problems = lost_events(committed, steps, indexed_rows(self.app, steps))
        assert len(problems) == 1
        assert "version 3" in problems[0]
        assert "index lacks it" in problems[0]

    def test_a_cargo_without_stored_events_fails_every_answer(self) -> None:
        answer = self.ask(self.at(2, known=2))
        assert "no stored events" in check_answer(answer, [])[0]
