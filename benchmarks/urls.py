"""The demo project's URLs, and the admin's floor: a fixed JSON behind the admin's door.

The floor is what Django itself costs for the path an admin JSON request takes: the
middleware, the session, the user, the staff check of `admin_site.admin_view` and the
permission check. It answers the same JSON for every request, shaped as a 10-event
cargo's time travel, so that encoding it costs what encoding a real answer does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.urls import path

from project.urls import urlpatterns as project_urlpatterns

_START = datetime(2024, 1, 1, tzinfo=UTC)
FIXED_ANSWER: dict[str, Any] = {
    "tracking_id": "3f2a9d6c-3b0e-4d8e-9a4f-2c1b5e7d9a10",
    "version": 10,
    "origin": "HONGKONG",
    "destination": "TOKYO",
    "arrival_deadline": (_START + timedelta(weeks=520)).isoformat(),
    "transport_status": "NOT_RECEIVED",
    "routing_status": "NOT_ROUTED",
    "is_misdirected": False,
    "estimated_time_of_arrival": None,
    "next_expected_activity": None,
    "last_known_location": None,
    "current_voyage_number": None,
    "itinerary": None,
    "events": [
        {
            "version": version,
            "timestamp": (_START + timedelta(minutes=version - 1)).isoformat(),
            "type": "BookingStarted" if version == 1 else "DestinationChanged",
        }
        for version in range(1, 11)
    ],
}


def fixed_json(request: HttpRequest) -> JsonResponse:
    """Answer the fixed JSON to staff with the time-travel page's permission."""
    if not request.user.has_perm("cargotime.view_cargo_history"):
        raise PermissionDenied
    return JsonResponse(FIXED_ANSWER)


urlpatterns = [
    path("bench/floor.json", admin.site.admin_view(fixed_json), name="bench_floor"),
    *project_urlpatterns,
]
