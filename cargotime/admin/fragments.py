"""The time-travel page's repeated pieces of HTML, written in Python.

Each is written once per field, mark or row of a page: as a template include or a
translated block, each costs more than the rest of the request. They write exactly
what the templates wrote, with the same translations (their msgids are the same),
and escape every value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from cargotime.admin.display import Field
from cargotime.admin.timeline import Entry, Mark
from cargotime.templatetags.cargotime_admin import (
    field_value,
    local_instant,
    utc_instant,
)


def value_html(field: Field) -> SafeString:
    """Return the field's value, flagged where it calls for attention."""
    if field.alert:
        return format_html(
            '<span class="ct-alert-mark" aria-hidden="true">⚠</span> '
            '<strong class="ct-alert-value">{}</strong> '
            '<span class="ct-flag">{}</span>',
            field_value(field.value),
            field.alert,
        )
    return conditional_escape(field_value(field.value))


def since_html(entry: Entry, href: str) -> SafeString:
    """Return " — since v3, <time>, Route assigned", linked to the event."""
    words = _(
        'since <a href="%(href)s">v%(version)s</a>, <time datetime="%(datetime)s">'
        "%(when)s</time>, %(what)s"
    ) % _escaped(
        href=href,
        version=entry.version,
        datetime=entry.timestamp.isoformat(),
        when=local_instant(entry.timestamp),
        what=entry.title,
    )
    return format_html('<span class="ct-since"> — {}</span>', mark_safe(words))


def mark_html(mark: Mark) -> SafeString:
    """Return the strip's link to one event, with its tooltip."""
    entry = mark.entry
    tip = mark_safe(
        _("Version %(version)s · %(title)s · %(when)s")
        % _escaped(
            version=entry.version,
            title=entry.title,
            when=local_instant(entry.timestamp),
        )
    )
    return format_html(
        '<a href="{}" class="ct-mark{}" aria-label="{}: {}{}">\n'
        "        <title>{}</title>\n"
        '        <circle cx="{}" cy="28" r="{}"></circle>\n'
        "      </a>",
        mark.href,
        " ct-mark-current" if mark.current else "",
        tip,
        entry.phrase,
        format_html(" — {}", _("shown")) if mark.current else "",
        tip,
        mark.x,
        "8" if mark.current else "5",
    )


class Linked(Protocol):
    """A timeline entry with its permalink, and whether it is the one shown."""

    @property
    def entry(self) -> Entry: ...

    @property
    def href(self) -> str: ...

    @property
    def current(self) -> bool: ...


def timeline_rows_html(rows: Iterable[Linked]) -> SafeString:
    """Return the timeline table's rows: each event, linked, the one shown marked."""
    shown = format_html(' <span class="ct-badge">{}</span>', _("shown"))
    time_label, event_label = _("Time"), _("Event")
    return mark_safe(
        "".join(
            format_html(
                '\n          <tr class="{}"{}>\n'
                '            <td><a href="{}">v{}</a>{}</td>\n'
                '            <td data-label="{}"><time datetime="{}" title="{} UTC">'
                "{}</time></td>\n"
                '            <td data-label="{}" class="ct-event-title">{}</td>\n'
                "            <td>{}</td>\n"
                "          </tr>",
                "ct-current" if row.current else "",
                mark_safe(' aria-current="true"') if row.current else "",
                row.href,
                row.entry.version,
                shown if row.current else "",
                time_label,
                row.entry.timestamp.isoformat(),
                utc_instant(row.entry.timestamp),
                local_instant(row.entry.timestamp),
                event_label,
                row.entry.title,
                row.entry.phrase,
            )
            for row in rows
        )
    )


def _escaped(**values: str | int) -> dict[str, str]:
    # As a translated block writes its variables: escaped, numbers as they are.
    return {key: conditional_escape(str(value)) for key, value in values.items()}
