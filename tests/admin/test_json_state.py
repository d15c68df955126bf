"""The cargo as the JSON that DESIGN.md promises."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from django.test import SimpleTestCase

from cargotime.admin.json_state import cargo_as_json, instant_as_json, itinerary_as_json
from cargotime.admin.timeline import Entry
from cargotime.domain import REGISTERED_ROUTES, Cargo, HandlingActivity, Location

WHEN = datetime(2024, 3, 1, 8, tzinfo=UTC)
TOKYO_TIME = timezone(timedelta(hours=9))


class TestCargoAsJson(SimpleTestCase):
    def test_writes_every_key_with_codes_and_offsets(self) -> None:
        tracking_id = uuid4()
        deadline = datetime(2024, 3, 22, 17, tzinfo=TOKYO_TIME)
        cargo = Cargo.new_booking(
            Location.TOKYO,
            Location.STOCKHOLM,
            deadline,
            tracking_id=tracking_id,
            timestamp=WHEN,
        )
        cargo.assign_route(REGISTERED_ROUTES[("TOKYO", "STOCKHOLM")][0], timestamp=WHEN)
        cargo.register_handling_event(
            None, Location.TOKYO, HandlingActivity.RECEIVE, timestamp=WHEN
        )
        entries = [
            Entry(
                1,
                WHEN,
                "BookingStarted",
                "Booked from Tokyo (TOKYO) to Stockholm (STOCKHOLM)",
                "Booked",
            )
        ]
        data = cargo_as_json(tracking_id, cargo, entries)
        assert data == {
            "tracking_id": str(tracking_id),
            "version": 3,
            "origin": "TOKYO",
            "destination": "STOCKHOLM",
            "arrival_deadline": "2024-03-22T08:00:00+00:00",
            "transport_status": "IN_PORT",
            "routing_status": "ROUTED",
            "is_misdirected": False,
            "estimated_time_of_arrival": "2024-03-08T08:00:00+00:00",
            "next_expected_activity": ["LOAD", "TOKYO", "V3"],
            "last_known_location": "TOKYO",
            "current_voyage_number": None,
            "itinerary": {
                "origin": "TOKYO",
                "destination": "STOCKHOLM",
                "legs": [
                    {
                        "origin": "TOKYO",
                        "destination": "HAMBURG",
                        "voyage_number": "V3",
                    },
                    {
                        "origin": "HAMBURG",
                        "destination": "STOCKHOLM",
                        "voyage_number": "V4",
                    },
                ],
            },
            "events": [
                {
                    "version": 1,
                    "timestamp": "2024-03-01T08:00:00+00:00",
                    "type": "BookingStarted",
                }
            ],
        }
        assert json.loads(json.dumps(data)) == data

    def test_no_itinerary_is_null(self) -> None:
        assert itinerary_as_json(None) is None

    def test_instants_are_utc_with_their_offset(self) -> None:
        assert instant_as_json(None) is None
        assert instant_as_json(
            datetime(2024, 3, 1, 17, 0, 0, 5, tzinfo=TOKYO_TIME)
        ) == ("2024-03-01T08:00:00.000005+00:00")
        # A naive deadline (booked by code that forgot its zone) is taken as UTC.
        assert instant_as_json(datetime(2024, 3, 1, 8)) == "2024-03-01T08:00:00+00:00"
