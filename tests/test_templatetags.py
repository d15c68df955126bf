"""The time-travel page's template filters."""

from __future__ import annotations

from datetime import UTC, datetime

from django.template import Context, Template
from django.test import SimpleTestCase, override_settings

from cargotime.templatetags.cargotime_admin import (
    field_value,
    local_instant,
    utc_instant,
)

INSTANT = datetime(2024, 3, 1, 8, 0, 0, 250, tzinfo=UTC)


@override_settings(TIME_ZONE="Asia/Tokyo")
class TestFilters(SimpleTestCase):
    def test_instants_in_local_time_and_utc(self) -> None:
        assert local_instant(INSTANT) == "2024-03-01 17:00:00.000250 +09:00"
        assert utc_instant(INSTANT) == "2024-03-01 08:00:00.000250 +00:00"
        assert local_instant(None) == utc_instant(None) == ""

    def test_field_values(self) -> None:
        assert field_value(None) == "—"
        assert field_value(True) == "Yes"
        assert field_value(False) == "No"
        assert field_value(INSTANT) == "2024-03-01 17:00:00.000250 +09:00"
        assert field_value("IN_PORT") == "IN_PORT"

    def test_loads_in_a_template(self) -> None:
        template = Template("{% load cargotime_admin %}{{ when|local_instant }}")
        assert template.render(Context({"when": INSTANT})) == (
            "2024-03-01 17:00:00.000250 +09:00"
        )
