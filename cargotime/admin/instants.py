"""Read the instants staff type: ISO 8601, the project's formats, or "now"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo

from django.conf import global_settings, settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from cargotime.domain import EARLIEST_INSTANT, END_OF_INSTANTS, check_instant

# Typed instead of a datetime, it means the moment the request is served.
NOW = "now"


class InstantError(ValueError):
    """Text that names no instant."""


def parse_instant(text: str, zone: tzinfo) -> datetime:
    """Return the aware instant *text* names; without an offset it is read in *zone*."""
    text = text.strip()
    if text.lower() == NOW:
        return timezone.now()
    parsed = _parse_iso(text) or _parse_formats(text)
    if parsed is None:
        msg = _(
            "“%(text)s” is not a date and time. Type one such as 2024-05-01 14:30, "
            "or pick one with the calendar and the clock."
        ) % {"text": text}
        raise InstantError(msg)
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, zone)
    return checked_instant(parsed, text)


def checked_instant(value: datetime, text: str) -> datetime:
    """Return *value* through the domain's one check, with the admin's own message."""
    try:
        return check_instant(value, "instant")
    except ValueError:
        # The domain says it in English for programmers; the clerk reads this.
        msg = _(
            "The date and time “%(text)s” is outside the range of dates and times "
            "cargotime accepts: from %(first)s up to, but not including, %(end)s "
            "(UTC)."
        ) % {
            "text": text,
            "first": EARLIEST_INSTANT.isoformat(),
            "end": END_OF_INSTANTS.isoformat(),
        }
        raise InstantError(msg) from None


def input_formats() -> Iterator[str]:
    """Yield the strptime formats read after ISO 8601, the project's own first."""
    # Django's forms read the active language's formats and ignore the setting when
    # the language has its own (English has): a project that sets
    # DATETIME_INPUT_FORMATS means them, so they come first here.
    configured = settings.DATETIME_INPUT_FORMATS
    if list(configured) != list(global_settings.DATETIME_INPUT_FORMATS):
        yield from configured
    # Then what the admin's calendar and clock write in the active language.
    yield from formats.get_format("DATETIME_INPUT_FORMATS")
    yield from formats.get_format("DATE_INPUT_FORMATS")


def _parse_formats(text: str) -> datetime | None:
    for pattern in input_formats():
        try:
            return datetime.strptime(text, pattern)
        except (ValueError, TypeError):
            continue
    return None


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    # A "+" left unescaped in a query string arrives as a space: "…T14:30 09:00".
    head, _sep, offset = text.rpartition(" ")
    if head and ":" in head and offset[:1].isdigit():
        try:
            return datetime.fromisoformat(f"{head}+{offset}")
        except ValueError:
            return None
    return None
