"""How the admin writes instants and field values: the filters, and what they use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext

register = template.Library()


def in_zone(value: datetime, zone: tzinfo) -> datetime:
    """Return *value* in *zone*, or as it is where *zone* has no such date."""
    try:
        return value.astimezone(zone)
    except OverflowError:
        # 9999-12-31 23:00 UTC is a date past the range in Tokyo: keep its own offset.
        return value


def format_instant(value: datetime, zone: tzinfo) -> str:
    """Return *value* in *zone* as "2024-05-01 14:30:05.123456 +09:00"."""
    local = in_zone(value, zone)
    # isoformat(), not strftime("%Y"): that writes the year 2 as "2", not "0002".
    text = local.replace(tzinfo=None).isoformat(sep=" ")
    return f"{text} {_offset(local)}"


def format_input(value: datetime, zone: tzinfo) -> str:
    """Return *value* as the input would take it back, in *zone* without an offset."""
    try:
        local = value.astimezone(zone)
    except OverflowError:
        # No such date in *zone*: with its offset, the input still reads it exactly.
        return value.isoformat()
    return local.replace(tzinfo=None).isoformat()


def describe_zone(zone: tzinfo, at: datetime | None = None) -> str:
    """Return the zone's name and its offset at *at* (default: now)."""
    moment = (at or timezone.now()).astimezone(zone)
    return f"{zone_name(zone, moment)} (UTC{_offset(moment)})"


def zone_name(zone: tzinfo, at: datetime | None = None) -> str:
    """Return the zone's name: "Asia/Tokyo", else its abbreviation."""
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    return (at or timezone.now()).astimezone(zone).tzname() or "UTC"


def _offset(value: datetime) -> str:
    # "+09:00"; with its seconds where a zone's old local mean time has some, such as
    # Tokyo's +09:18:59 before 1888, so that the text names the instant exactly.
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes, seconds = divmod(int(abs(offset).total_seconds()), 60)
    text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


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
def utc_if_different(value: datetime | None) -> str:
    """Return *value* in UTC, or "" where local time writes it the same."""
    if value is None:
        return ""
    utc = format_instant(value, UTC)
    return "" if utc == local_instant(value) else utc


@register.filter
def field_value(value: object) -> str:
    """Return a cargo field's value as staff read it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime):
        return local_instant(value)
    return str(value)


@register.filter
def number(value: int | None) -> str:
    """Return a count as the active language groups it: "12,345", "12.345"."""
    if value is None:
        return ""
    return formats.number_format(value, force_grouping=True)
