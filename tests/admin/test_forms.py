"""The time-travel page's forms."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from django.test import SimpleTestCase, override_settings

from cargotime.admin.forms import CargoSearchForm, TimeTravelForm

TRACKING_ID = "3f2a9c1e-4b7d-4e8a-9c1f-2d3e4f5a6b7c"


class TestTimeTravelForm(SimpleTestCase):
    def test_reads_a_tracking_id_in_any_spelling_of_a_uuid(self) -> None:
        for text in [TRACKING_ID, TRACKING_ID.upper(), TRACKING_ID.replace("-", "")]:
            form = TimeTravelForm({"tracking_id": text})
            assert form.is_valid(), form.errors
            assert form.tracking_id_value == UUID(TRACKING_ID)

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_reads_instants_in_the_current_time_zone(self) -> None:
        form = TimeTravelForm(
            {
                "tracking_id": TRACKING_ID,
                "at": "2024-03-01 17:00",
                "compare_at": "2024-03-01T08:00Z",
            }
        )
        assert form.is_valid(), form.errors
        expected = datetime(2024, 3, 1, 8, tzinfo=UTC)
        assert form.cleaned_data["at"] == form.cleaned_data["compare_at"] == expected

    def test_empty_means_the_list_of_cargos(self) -> None:
        form = TimeTravelForm({})
        assert form.is_valid()
        assert form.tracking_id_value is None
        assert form.cleaned_data["at"] is None

    def test_a_version_or_json_needs_a_tracking_id(self) -> None:
        for data in [{"version": "2"}, {"format": "json"}]:
            form = TimeTravelForm(data)
            assert not form.is_valid()
            assert form.errors["tracking_id"] == ["Enter the tracking ID of a cargo."]

    def test_refuses_contradictions(self) -> None:
        form = TimeTravelForm({"tracking_id": TRACKING_ID, "at": "now", "version": "1"})
        assert not form.is_valid()
        assert "not both" in form.non_field_errors()[0]
        form = TimeTravelForm(
            {"tracking_id": TRACKING_ID, "events_after": "1", "events_before": "9"}
        )
        assert not form.is_valid()

    def test_versions_fit_the_64_bit_column(self) -> None:
        for field in ["version", "events_after", "events_before"]:
            assert TimeTravelForm(
                {"tracking_id": TRACKING_ID, field: 2**63 - 1}
            ).is_valid()
            form = TimeTravelForm({"tracking_id": TRACKING_ID, field: 2**63})
            assert not form.is_valid()
            assert "less than or equal to" in form.errors[field][0]

    @override_settings(TIME_ZONE="Asia/Tokyo")
    def test_explains_an_instant_outside_the_range(self) -> None:
        # Year 1 in Tokyo is year 0 in UTC, and no page could show 9999.
        form = TimeTravelForm(
            {
                "tracking_id": TRACKING_ID,
                "at": "0001-01-01 00:00",
                "compare_at": "9999-12-31T23:59:59Z",
            }
        )
        assert not form.is_valid()
        for field in ["at", "compare_at"]:
            message = str(form.errors[field][0])
            assert message.startswith("The date and time "), message
            assert "is outside the range of dates and times cargotime accepts: " in (
                message
            )
            assert "from 0002-01-01T00:00:00+00:00 up to, but not including, " in (
                message
            )
        form = TimeTravelForm({"tracking_id": TRACKING_ID, "at": "0002-01-01T00:00Z"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["at"] == datetime(2, 1, 1, tzinfo=UTC)

    def test_explains_a_bad_tracking_id(self) -> None:
        form = TimeTravelForm({"tracking_id": "3f2a9c1e"})
        assert not form.is_valid()
        assert str(form.errors["tracking_id"][0]).startswith(
            "Enter a valid tracking ID"
        )


class TestCargoSearchForm(SimpleTestCase):
    def test_limits_the_search(self) -> None:
        form = CargoSearchForm({"q": " hong "})
        assert form.is_valid()
        assert form.cleaned_data["q"] == "hong"
        form = CargoSearchForm({"q": "x" * 101})
        assert not form.is_valid()
        assert "at most 100 characters" in form.errors["q"][0]
