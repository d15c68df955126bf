"""Read the instants staff type: ISO 8601, an offset or not, or "now"."""

from __future__ import annotations

from datetime import datetime, tzinfo

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
