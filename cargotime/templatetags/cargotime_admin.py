"""Template filters of the time-travel page: instants and field values."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone

from cargotime.instants import format_instant

register = template.Library()


@register.filter
def local_instant(value: datetime | None) -> str:
    """Return *value* in the current time zone, to the microsecond when it has any."""
    if value is None:
        return ""
    return format_instant(value, timezone.get_current_timezone())


@register.filter
def utc_instant(value: datetime | None) -> str:
    """Return *value* in UTC, to the microsecond when it has any."""
    if value is None:
        return ""
    return format_instant(value, UTC)


@register.filter
def field_value(value: object) -> str:
    """Return a cargo field's value as staff read it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return local_instant(value)
    return str(value)
