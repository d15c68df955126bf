"""The time-travel page's repeated pieces of HTML, written in Python.

Each is written once per field, mark or row of a page: as a template include or a
translated block, each costs more than the rest of the request. They write exactly
what the templates wrote, with the same translations (their msgids are the same),
and escape every value.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any, Protocol

from django.utils.functional import Promise
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
    value = _e(field_value(field.value))
    if field.alert:
        return mark_safe(
            '<span class="ct-alert-mark" aria-hidden="true">⚠</span> '
            f'<strong class="ct-alert-value">{value}</strong> '
            f'<span class="ct-flag">{_e(field.alert)}</span>'
        )
    return mark_safe(value)


def since_html(entry: Entry, href: str) -> SafeString:
    """Return " — since v3, <time>, Route assigned", linked to the event."""
    words = _(
        'since <a href="%(href)s">v%(version)s</a>, <time datetime="%(datetime)s">'
        "%(when)s</time>, %(what)s"
    ) % {
        "href": _e(href),
        "version": entry.version,
        "datetime": _e(entry.timestamp.isoformat()),
        "when": _e(local_instant(entry.timestamp)),
        "what": _e(entry.title),
    }
    return mark_safe(f'<span class="ct-since"> — {words}</span>')


def mark_html(mark: Mark) -> SafeString:
    """Return the strip's link to one event, with its tooltip."""
    entry = mark.entry
    tip = _("Version %(version)s · %(title)s · %(when)s") % {
        "version": entry.version,
        "title": _e(entry.title),
        "when": _e(local_instant(entry.timestamp)),
    }
    current = " ct-mark-current" if mark.current else ""
    # Outside the f-string, where makemessages finds it.
    word = _("shown")
    shown = f" — {_e(word)}" if mark.current else ""
    return mark_safe(
        f'<a href="{_e(mark.href)}" class="ct-mark{current}" '
        f'aria-label="{tip}: {_e(entry.phrase)}{shown}">\n'
        f"        <title>{tip}</title>\n"
        f'        <circle cx="{_e(mark.x)}" cy="28" r="{8 if mark.current else 5}">'
        "</circle>\n"
        "      </a>"
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
    word = _("shown")
    shown = f' <span class="ct-badge">{_e(word)}</span>'
    time_label, event_label = _e(_("Time")), _e(_("Event"))
    html = []
    for row in rows:
        entry, timestamp = row.entry, row.entry.timestamp
        current = (
            ' class="ct-current" aria-current="true"' if row.current else (' class=""')
        )
        html.append(
            f"\n          <tr{current}>\n"
            f'            <td><a href="{_e(row.href)}">v{entry.version}</a>'
            f"{shown if row.current else ''}</td>\n"
            f'            <td data-label="{time_label}"><time '
            f'datetime="{_e(timestamp.isoformat())}" '
            f'title="{_e(utc_instant(timestamp))} UTC">'
            f"{_e(local_instant(timestamp))}</time></td>\n"
            f'            <td data-label="{event_label}" class="ct-event-title">'
            f"{_e(entry.title)}</td>\n"
            f"            <td>{_e(entry.phrase)}</td>\n"
            "          </tr>"
        )
    return mark_safe("".join(html))


def instant_input_html(widget: dict[str, Any]) -> SafeString:
    """Return InstantInput's text box, with the date and time boxes beside it."""
    attrs = "".join(
        f" {_e(name)}" if value is True else f' {_e(name)}="{_e(value)}"'
        for name, value in widget["attrs"].items()
        if value is not False
    )
    value = "" if widget["value"] is None else f' value="{_e(widget["value"])}"'
    box = _e(widget["attrs"].get("id", ""))
    return mark_safe(
        f'<span class="ct-instant-input"><input type="{_e(widget["type"])}" '
        f'name="{_e(widget["name"])}"{value}{attrs}>\n\n'
        f'  <span class="ct-instant-pick" data-ct-instant-for="{box}" hidden>\n'
        '    <span class="ct-quiet" aria-hidden="true">'
        f"{_e(widget['pick_label'])}</span>\n"
        f'    <label for="{box}_date" class="ct-visually-hidden">'
        f"{_e(widget['date_label'])}</label>\n"
        f'    <input type="text" id="{box}_date" class="vDateField" size="10" '
        f'value="{_e(widget["date"])}" autocomplete="off">\n'
        f'    <label for="{box}_time" class="ct-visually-hidden">'
        f"{_e(widget['time_label'])}</label>\n"
        f'    <input type="text" id="{box}_time" class="vTimeField" size="8" '
        f'value="{_e(widget["time"])}" autocomplete="off">\n'
        "  </span>\n"
        "</span>"
    )


def _e(value: object) -> str:
    # Django's conditional_escape(), less its wrappers: a page writes hundreds.
    if isinstance(value, Promise):
        value = str(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return str(html())
    return escape(str(value))
