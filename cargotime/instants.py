"""Read the instants staff type, and write instants back in local time and UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from django.utils import timezone

from cargotime.domain import check_instant

# Typed instead of a datetime, it means the moment the request is served.
NOW = "now"


class InstantError(ValueError):
    """Text that names no instant."""


def parse_instant(text: str, zone: tzinfo) -> datetime:
    """Return the aware instant *text* names; without an offset it is read in *zone*."""
    text = text.strip()
    if text.lower() == NOW:
        return timezone.now()
    parsed = _parse_iso(text)
    if parsed is None:
        msg = (
            f"“{text}” is not a date and time. Use ISO 8601, such as "
            "2024-05-01 14:30:05.123456 or 2024-05-01T05:30Z."
        )
        raise InstantError(msg)
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, zone)
    try:
        return check_instant(parsed, "date and time")
    except ValueError as error:
        raise InstantError(str(error)) from None


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    # A "+" left unescaped in a query string arrives as a space: "…T14:30 09:00".
    head, _, offset = text.rpartition(" ")
    if head and ":" in head and offset[:1].isdigit():
        try:
            return datetime.fromisoformat(f"{head}+{offset}")
        except ValueError:
            return None
    return None


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
