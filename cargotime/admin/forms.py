"""The time-travel page's GET forms: which cargo, which moment, which page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from cargotime.admin.instants import InstantError, parse_instant

# Versions are stored in a 64-bit column: none can be higher.
MAX_VERSION = 2**63 - 1


class InstantField(forms.CharField):
    """An ISO 8601 instant; without an offset, read in the current time zone."""

    def to_python(self, value: Any) -> datetime | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_instant(text, timezone.get_current_timezone())
        except InstantError as error:
            raise ValidationError(str(error), code="invalid") from None


class TrackingIdField(forms.UUIDField):
    default_error_messages = {
        "invalid": (
            "Enter a valid tracking ID: a UUID such as "
            "3f2a9c1e-4b7d-4e8a-9c1f-2d3e4f5a6b7c."
        ),
    }


class TimeTravelForm(forms.Form):
    """Which cargo, and the instant or version to see it at."""

    tracking_id = TrackingIdField(label="Tracking ID", required=False)
    at = InstantField(
        label="Date and time",
        required=False,
        strip=True,
        help_text=(
            "ISO 8601, to the second or microsecond, e.g. 2024-05-01 14:30:05.123456. "
            "Add an offset (+09:00, Z) for another zone; “now” or empty for now."
        ),
    )
    version = forms.IntegerField(
        label="Version", required=False, min_value=1, max_value=MAX_VERSION
    )
    compare_at = InstantField(label="Compare with", required=False)
    events_after = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_VERSION
    )
    events_before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_VERSION
    )
    format = forms.ChoiceField(
        required=False, choices=[("", "HTML"), ("html", "HTML"), ("json", "JSON")]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw_at = (self.data.get("at") or "").strip()
        if data.get("version") is not None and raw_at:
            raise ValidationError(
                "Give either a date and time or a version, not both.", code="both"
            )
        if data.get("events_after") is not None and data.get("events_before"):
            raise ValidationError(
                "Page the timeline either after or before a version, not both.",
                code="both",
            )
        if not data.get("tracking_id") and self.wants_cargo(data):
            self.add_error("tracking_id", "Enter the tracking ID of a cargo.")
        return data

    @staticmethod
    def wants_cargo(data: dict[str, Any]) -> bool:
        # Without a tracking ID the page lists cargos, unless something asks for one.
        return data.get("version") is not None or data.get("format") == "json"

    @property
    def tracking_id_value(self) -> UUID | None:
        """Return the cleaned tracking ID, or None."""
        value = self.cleaned_data.get("tracking_id")
        return value if isinstance(value, UUID) else None


class CargoSearchForm(forms.Form):
    """The search and page of the list of cargos."""

    q = forms.CharField(label="Search", required=False, max_length=100, strip=True)
    page = forms.IntegerField(required=False, min_value=1)
