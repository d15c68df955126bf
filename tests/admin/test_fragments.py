"""The page's repeated pieces of HTML: what the templates wrote, in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.template import Context, Template
from django.test import SimpleTestCase, override_settings
from django.utils import translation

from cargotime.admin.display import Field
from cargotime.admin.fragments import (
    mark_html,
    since_html,
    timeline_rows_html,
    value_html,
)
from cargotime.admin.timeline import Entry, Mark
from cargotime.admin.views import Row

# The templates these pieces replace, as they were.
SINCE = (
    '{% load i18n cargotime_admin %}<span class="ct-since"> — {% blocktranslate with '
    "href=source.href version=source.entry.version "
    "datetime=source.entry.timestamp.isoformat "
    "when=source.entry.timestamp|local_instant what=source.entry.title %}"
    'since <a href="{{ href }}">v{{ version }}</a>, <time datetime="{{ datetime }}">'
    "{{ when }}</time>, {{ what }}{% endblocktranslate %}</span>"
)
VALUE = (
    '{% load cargotime_admin %}{% if alert %}<span class="ct-alert-mark" '
    'aria-hidden="true">⚠</span> <strong class="ct-alert-value">'
    '{{ value|field_value }}</strong> <span class="ct-flag">{{ alert }}</span>'
    "{% else %}{{ value|field_value }}"
    "{% endif %}"
)
MARK = (
    "{% load i18n cargotime_admin %}{% with version=mark.entry.version "
    "when=mark.entry.timestamp|local_instant title=mark.entry.title %}"
    "{% blocktranslate asvar tip %}Version {{ version }} · {{ title }} · {{ when }}"
    '{% endblocktranslate %}{% if mark.current %}{% translate "shown" as shown %}'
    '{% endif %}<a href="{{ mark.href }}" class="ct-mark{% if mark.current %} '
    'ct-mark-current{% endif %}" aria-label="{{ tip }}: {{ mark.entry.phrase }}'
    '{% if mark.current %} — {{ shown }}{% endif %}"><title>{{ tip }}</title>'
    '<circle cx="{{ mark.x }}" cy="28" '
    'r="{% if mark.current %}8{% else %}5{% endif %}">'
    "</circle></a>{% endwith %}"
)
ROWS = (
    "{% load i18n cargotime_admin %}{% for row in rows %}"
    '<tr class="{% if row.current %}ct-current{% endif %}"{% if row.current %} '
    'aria-current="true"{% endif %}><td><a href="{{ row.href }}">'
    "v{{ row.entry.version }}</a>{% if row.current %} "
    '<span class="ct-badge">{% translate "shown" %}</span>{% endif %}</td>'
    "<td data-label=\"{% translate 'Time' %}\">"
    '<time datetime="{{ row.entry.timestamp.isoformat }}" '
    'title="{{ row.entry.timestamp|utc_instant }} UTC">'
    "{{ row.entry.timestamp|local_instant }}</time></td>"
    '<td data-label="{% translate \'Event\' %}" class="ct-event-title">'
    "{{ row.entry.title }}</td><td>{{ row.entry.phrase }}</td></tr>{% endfor %}"
)

# Values that need escaping, where staff or an import could have put them.
ENTRY = Entry(
    version=1234,
    timestamp=datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=UTC),
    name="DestinationChanged",
    phrase='Destination <b>"changed"</b> & more',
    title="Destination <changed>",
)
HREF = "/admin/x/?tracking_id=1&version=1234"


def compact(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@override_settings(TIME_ZONE="Asia/Tokyo")
class FragmentTests(SimpleTestCase):
    def test_write_what_the_templates_wrote(self) -> None:
        fields = [
            Field("origin", "Origin", "Hong Kong <HONGKONG>"),
            Field("is_misdirected", "Misdirected", True, alert="Look <twice>"),
            Field("estimated_time_of_arrival", "ETA", ENTRY.timestamp),
            Field("current_voyage_number", "Voyage", None),
        ]
        marks = [Mark("12.50%", ENTRY, HREF, False), Mark("50.00%", ENTRY, HREF, True)]
        rows = [Row(ENTRY, HREF, False), Row(ENTRY, HREF, True)]
        for language in ["en", "de"]:
            with self.subTest(language=language), translation.override(language):
                source = Row(ENTRY, HREF, False)
                assert since_html(ENTRY, HREF) == Template(SINCE).render(
                    Context({"source": source})
                )
                for field in fields:
                    assert value_html(field) == Template(VALUE).render(
                        Context({"value": field.value, "alert": field.alert})
                    )
                for mark in marks:
                    assert compact(mark_html(mark)) == compact(
                        Template(MARK).render(Context({"mark": mark}))
                    )
                assert compact(timeline_rows_html(rows)) == compact(
                    Template(ROWS).render(Context({"rows": rows}))
                )

    def test_escape_what_they_show(self) -> None:
        html = since_html(ENTRY, HREF) + mark_html(Mark("1%", ENTRY, HREF, True))
        assert "<changed>" not in html and "&lt;changed&gt;" in html
        row = timeline_rows_html([Row(ENTRY, HREF, True)])
        assert "<b>" not in row
        assert '</a> <span class="ct-badge">' in row
        assert "version=1234" in html and "v1234" in html
