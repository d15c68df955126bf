"""The time-travel page's template filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.test import SimpleTestCase, override_settings

from cargotime.admin.instants import parse_instant
from cargotime.templatetags.cargotime_admin import (
    describe_zone,
    field_value,
    format_input,
    format_instant,
    local_instant,
    utc_if_different,
    utc_instant,
    zone_name,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
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


class TestFormat(SimpleTestCase):
    def test_writes_an_instant_in_a_zone_with_its_offset(self) -> None:
        instant = datetime(2024, 3, 1, 8, tzinfo=UTC)
        assert format_instant(instant, TOKYO) == "2024-03-01 17:00:00 +09:00"
        assert format_instant(instant, UTC) == "2024-03-01 08:00:00 +00:00"
        assert format_instant(instant, NEW_YORK) == "2024-03-01 03:00:00 -05:00"

    def test_shows_microseconds_only_when_there_are_some(self) -> None:
        instant = datetime(2024, 3, 1, 8, 0, 0, 120, tzinfo=UTC)
        assert format_instant(instant, UTC) == "2024-03-01 08:00:00.000120 +00:00"

    def test_writes_what_the_input_reads_back(self) -> None:
        instant = datetime(2024, 3, 1, 8, 0, 5, 7, tzinfo=UTC)
        text = format_input(instant, TOKYO)
        assert text == "2024-03-01T17:00:05.000007"
        assert parse_instant(text, TOKYO) == instant
        assert (
            format_input(datetime(2024, 3, 1, 8, tzinfo=UTC), UTC)
            == "2024-03-01T08:00:00"
        )

    def test_writes_early_years_with_four_digits_and_offsets_with_seconds(
        self,
    ) -> None:
        # strftime wrote the year 2 as "2", which the input could not read back, and
        # cut Tokyo's local mean time, +09:18:59, to +09:18.
        earliest = datetime(2, 1, 1, tzinfo=UTC)
        assert format_instant(earliest, UTC) == "0002-01-01 00:00:00 +00:00"
        assert format_instant(earliest, TOKYO) == "0002-01-01 09:18:59 +09:18:59"
        assert format_instant(earliest, NEW_YORK) == "0001-12-31 19:03:58 -04:56:02"
        for zone in [UTC, TOKYO, NEW_YORK]:
            text = format_input(earliest, zone)
            assert parse_instant(text, zone) == earliest, text

    def test_names_the_zone_and_its_offset(self) -> None:
        summer = datetime(2024, 7, 1, tzinfo=UTC)
        assert describe_zone(TOKYO, summer) == "Asia/Tokyo (UTC+09:00)"
        assert describe_zone(NEW_YORK, summer) == "America/New_York (UTC-04:00)"
        assert zone_name(UTC) == "UTC"
        assert zone_name(timezone(timedelta(hours=5, minutes=45), "NPT")) == "NPT"
        assert describe_zone(ZoneInfo("Asia/Kathmandu"), summer).endswith("(UTC+05:45)")


class TestUtcOnce(SimpleTestCase):
    def test_utc_only_where_local_time_writes_it_differently(self) -> None:
        with override_settings(TIME_ZONE="UTC"):
            assert utc_if_different(INSTANT) == ""
        with override_settings(TIME_ZONE="Europe/London"):
            assert utc_if_different(INSTANT) == ""  # GMT in winter.
            summer = datetime(2024, 7, 1, tzinfo=UTC)
            assert utc_if_different(summer) == "2024-07-01 00:00:00 +00:00"
        with override_settings(TIME_ZONE="Asia/Tokyo"):
            assert utc_if_different(INSTANT) == "2024-03-01 08:00:00.000250 +00:00"
        assert utc_if_different(None) == ""
