"""The time-travel page's GET forms: which cargo, which moment, which page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import BaseRenderer
from django.utils import formats, timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from cargotime.admin.fragments import instant_input_html
from cargotime.admin.instants import InstantError, parse_instant
from cargotime.templatetags.cargotime_admin import format_input, in_zone

# Versions are stored in a 64-bit column: none can be higher.
MAX_VERSION = 2**63 - 1

# The start of a tracking ID, as staff copy it from a label or a message.


class InstantInput(forms.TextInput):
    """A text box for an instant, with the admin's calendar and clock beside it.

    The text box is what the form submits, under the field's own name: it takes a
    typed date and time, with an offset or not, and comes back as typed. The date
    and time boxes beside it carry the classes the admin's DateTimeShortcuts look
    for; they have no name, and a script writes what is picked into the text box.
    Without JavaScript they stay hidden, and the text box works on its own.
    """

    template_name = "cargotime/admin/widgets/instant.html"

    class Media:
        # As an admin DateTimeField's widgets: the page also loads admin:jsi18n.
        js = [
            "admin/js/core.js",
            "admin/js/calendar.js",
            "admin/js/admin/DateTimeShortcuts.js",
            "cargotime/admin/instant_input.js",
        ]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={"autocomplete": "off", "spellcheck": "false", **(attrs or {})}
        )
        # The instant the page shows: the calendar and the clock start from it.
        self.shown: datetime | None = None
        # Shown in the text box when nothing was typed in it.
        self.fallback = ""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        # What template_name (and Django's input.html and attrs.html in it) writes,
        # written in Python: three nested templates cost a page more than the rest
        # of its form. tests/admin/test_forms.py holds the two to each other.
        return instant_input_html(self.get_context(name, value, attrs)["widget"])

    def get_context(
        self, name: str, value: Any, attrs: dict[str, Any] | None
    ) -> dict[str, Any]:
        context = super().get_context(name, value or self.fallback or None, attrs)
        date = time = ""
        if self.shown is not None:
            local = in_zone(self.shown, timezone.get_current_timezone())
            # strftime writes the year 2 as "2", which the calendar cannot read.
            if local.year >= 1000:
                date = local.strftime(formats.get_format("DATE_INPUT_FORMATS")[0])
                time = local.strftime(formats.get_format("TIME_INPUT_FORMATS")[0])
        context["widget"].update(
            date=date,
            time=time,
            date_label=_("Date"),
            time_label=_("Time"),
            pick_label=_("or pick:"),
        )
        return context


class InstantField(forms.CharField):
    """A date and time: ISO 8601, one of the project's formats, or "now".

    Without an offset it is read in the current time zone.
    """

    widget = InstantInput

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
        "invalid": _(
            "Enter a valid tracking ID: a UUID such as "
            "3f2a9c1e-4b7d-4e8a-9c1f-2d3e4f5a6b7c, or its first characters."
        ),
    }


class ShowsInstants:
    """A form whose instant inputs start the calendar and clock at an instant."""

    fields: dict[str, forms.Field]

    def show_instant(self, name: str, instant: datetime, *, fill: bool) -> None:
        """Start field *name*'s calendar and clock at *instant*.

        With *fill*, the text box shows *instant* too when nothing was typed in it.
        """
        widget = self.fields[name].widget
        assert isinstance(widget, InstantInput)
        widget.shown = instant
        if fill:
            widget.fallback = format_input(instant, timezone.get_current_timezone())


class TimeTravelForm(ShowsInstants, forms.Form):
    """Which cargo, and the instant or version to see it at."""

    tracking_id = TrackingIdField(label=_("Tracking ID"), required=False)
    at = InstantField(
        label=_("Date and time"),
        required=False,
        strip=True,
        help_text=_(
            "Type a date and time, or pick them with the calendar and the clock. "
            "Leave it empty, or press Now, to see the cargo as it is now."
        ),
    )
    version = forms.IntegerField(
        label=_("Version"), required=False, min_value=1, max_value=MAX_VERSION
    )
    compare_at = InstantField(label=_("Compare with"), required=False)
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
                _("Give either a date and time or a version, not both."), code="both"
            )
        if data.get("events_after") is not None and data.get("events_before"):
            raise ValidationError(
                _("Page the timeline either after or before a version, not both."),
                code="both",
            )
        if not data.get("tracking_id") and self.wants_cargo(data):
            self.add_error("tracking_id", _("Enter the tracking ID of a cargo."))
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

    def only_compare_is_wrong(self) -> bool:
        """Return whether the compare instant is the form's one mistake."""
        return set(self.errors) == {"compare_at"}


def clean_query(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return what TimeTravelForm cleans *data* to, or None if it finds an error.

    The same fields check the same values, without building a form and copying
    its widgets: what an answer that renders no form needs. On None, the form says
    what is wrong.
    """
    cleaned = {}
    for name, field in TimeTravelForm.base_fields.items():
        # As the fields' widgets read a query: its last value, or None.
        try:
            cleaned[name] = field.clean(data.get(name))
        except ValidationError:
            return None
    if (
        (cleaned["version"] is not None and (data.get("at") or "").strip())
        or (cleaned["events_after"] is not None and cleaned["events_before"])
        or (not cleaned["tracking_id"] and TimeTravelForm.wants_cargo(cleaned))
    ):
        # TimeTravelForm.clean()'s errors.
        return None
    return cleaned


class CargoSearchForm(forms.Form):
    """The search and page of the list of cargos."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100, strip=True)
    page = forms.IntegerField(required=False, min_value=1)
