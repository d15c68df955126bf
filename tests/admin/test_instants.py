"""Reading the instants staff type, and writing them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.test import SimpleTestCase, override_settings
from django.utils import timezone as django_timezone
from django.utils import translation

from cargotime.admin.instants import InstantError, input_formats, parse_instant

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


class TestParseInstant(SimpleTestCase):
    def test_reads_a_naive_datetime_in_the_zone(self) -> None:
        assert parse_instant("2024-03-01 17:00", TOKYO) == datetime(
            2024, 3, 1, 8, tzinfo=UTC
        )
        assert parse_instant("2024-03-01T03:00:00", NEW_YORK) == datetime(
            2024, 3, 1, 8, tzinfo=UTC
        )

    def test_an_offset_wins_over_the_zone(self) -> None:
        for text in [
            "2024-03-01T08:00Z",
            "2024-03-01T17:00+09:00",
            "2024-03-01 03:00-05:00",
        ]:
            assert parse_instant(text, TOKYO) == datetime(2024, 3, 1, 8, tzinfo=UTC), (
                text
            )

    def test_keeps_seconds_and_microseconds(self) -> None:
        assert parse_instant("2024-03-01T08:00:05.123456Z", TOKYO) == datetime(
            2024, 3, 1, 8, 0, 5, 123456, tzinfo=UTC
        )
        assert parse_instant("2024-03-01T08:00:05.5Z", TOKYO).microsecond == 500000

    def test_a_space_for_an_unescaped_plus(self) -> None:
        assert parse_instant("2024-03-01T17:00:00 09:00", UTC) == datetime(
            2024, 3, 1, 8, tzinfo=UTC
        )

    def test_a_date_alone_is_its_midnight(self) -> None:
        assert parse_instant("2024-03-01", TOKYO) == datetime(
            2024, 2, 29, 15, tzinfo=UTC
        )

    def test_now(self) -> None:
        before = django_timezone.now()
        for text in ["now", " NOW ", "Now"]:
            instant = parse_instant(text, TOKYO)
            assert before <= instant <= django_timezone.now()
            assert instant.utcoffset() == timedelta(0)

    def test_refuses_what_names_no_instant(self) -> None:
        for text in ["", "soon", "2024-02-30", "2024-03-01T24:01", "12:00", "now!"]:
            with self.assertRaisesMessage(InstantError, "is not a date and time"):
                parse_instant(text, UTC)

    def test_refuses_instants_off_the_calendar(self) -> None:
        for text in ["9999-12-31T23:59:59-01:00", "0001-01-01T00:30+01:00"]:
            with self.assertRaisesMessage(InstantError, "outside the range"):
                parse_instant(text, UTC)

    def test_refuses_instants_some_zone_page_or_database_cannot_show(self) -> None:
        # The domain's one check: the window that every datetime entering passes.
        for text, zone in [
            ("0001-12-31T23:59:59.999999Z", UTC),
            ("0002-01-01 09:18", TOKYO),  # Tokyo's local mean time: still year 1.
            ("9998-01-01T00:00Z", UTC),
            ("9998-01-01 09:00", TOKYO),
            ("9999-12-31T23:59:59.999999", NEW_YORK),
        ]:
            with (
                self.subTest(text=text),
                self.assertRaisesMessage(
                    InstantError,
                    "is outside the range of dates and times cargotime accepts: from "
                    "0002-01-01T00:00:00+00:00 up to, but not including, "
                    "9998-01-01T00:00:00+00:00 (UTC)",
                ),
            ):
                parse_instant(text, zone)

    def test_reads_the_first_and_last_instants_accepted(self) -> None:
        assert parse_instant("0002-01-01 09:18:59", TOKYO) == datetime(
            2, 1, 1, tzinfo=UTC
        )
        assert parse_instant("9998-01-01T13:59:59.999999+14:00", UTC) == datetime(
            9997, 12, 31, 23, 59, 59, 999999, tzinfo=UTC
        )

    def test_returns_utc(self) -> None:
        assert parse_instant("2024-03-01 17:00", TOKYO).tzinfo is UTC


class TestInputFormats(SimpleTestCase):
    def test_reads_the_projects_own_formats_first(self) -> None:
        # English reads 01/03/2024 as January 3rd; a project that says day first
        # is believed.
        with override_settings(DATETIME_INPUT_FORMATS=["%d/%m/%Y %H:%M"]):
            assert parse_instant("31/10/2026 14:00", UTC) == datetime(
                2026, 10, 31, 14, tzinfo=UTC
            )
            assert parse_instant("01/03/2024 17:00", TOKYO) == datetime(
                2024, 3, 1, 8, tzinfo=UTC
            )
            assert next(input_formats()) == "%d/%m/%Y %H:%M"

    def test_reads_djangos_formats_for_the_language(self) -> None:
        assert parse_instant("03/01/2024 17:00", TOKYO) == datetime(
            2024, 3, 1, 8, tzinfo=UTC
        )
        assert parse_instant("2024-03-01 17:00:05", TOKYO).second == 5
        # What the admin's calendar and clock write in German.
        with translation.override("de"):
            assert parse_instant("01.03.2024 17:00:00", TOKYO) == datetime(
                2024, 3, 1, 8, tzinfo=UTC
            )
        with self.assertRaisesMessage(InstantError, "is not a date and time"):
            parse_instant("01.03.2024 17:00:00", TOKYO)

    def test_the_default_setting_is_not_read_first(self) -> None:
        # Left at Django's default, the setting is US month-first; the language's
        # own formats go first, as in Django's forms.
        assert next(input_formats()) == "%Y-%m-%d %H:%M:%S"

    def test_iso_comes_first_whatever_the_formats(self) -> None:
        with override_settings(DATETIME_INPUT_FORMATS=["%Y-%d-%m %H:%M"]):
            assert parse_instant("2024-03-01 17:00", TOKYO) == datetime(
                2024, 3, 1, 8, tzinfo=UTC
            )

    def test_the_message_speaks_to_a_clerk(self) -> None:
        with self.assertRaises(InstantError) as caught:
            parse_instant("tomorrow", UTC)
        message = str(caught.exception)
        assert "ISO" not in message
        assert "calendar" in message
