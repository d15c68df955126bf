"""The Fleet page: every cargo as it was at an instant, filtered, counted, compared."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

from django import forms
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import SimpleTemplateResponse, TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cargotime.admin.display import (
    locations_matching,
    place_name,
    routing_status,
    transport_status,
)
from cargotime.admin.forbidden import forbidden
from cargotime.admin.forms import InstantField, ShowsInstants
from cargotime.admin.instants import checked_instant
from cargotime.admin.json_state import instant_as_json
from cargotime.consistent_read import consistent_read
from cargotime.domain import Location
from cargotime.fleet import (
    FACETS,
    Cursor,
    FleetCargo,
    FleetComparison,
    FleetCounts,
    FleetFilters,
    FleetPage,
    compare_fleet,
    fleet_at,
    fleet_counts,
    iter_fleet,
)
from cargotime.models import database_alias
from cargotime.read_replica import read_application, read_with_fallback
from cargotime.templatetags.cargotime_admin import format_instant, in_zone

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    from cargotime.application import SearchableTimestampsApplication

CARGOS_PER_PAGE = 50
TEMPLATES = ["admin/cargotime/fleet.html", "cargotime/admin/fleet.html"]
TRANSPORT_STATUSES = ("NOT_RECEIVED", "IN_PORT", "ONBOARD_CARRIER", "CLAIMED")
ROUTING_STATUSES = ("NOT_ROUTED", "ROUTED", "MISROUTED")
# The parameters the page reads; links carry these and nothing else.
PARAMETERS = ("at", "compare_at", "q", "after", "format", *FACETS)
# Each cargo's keys in the JSON and the columns of the CSV, in order.
CARGO_KEYS = (
    "tracking_id",
    "version",
    "origin",
    "destination",
    "arrival_deadline",
    "transport_status",
    "routing_status",
    "is_misdirected",
    "estimated_time_of_arrival",
    "last_known_location",
    "current_voyage_number",
    "last_event_at",
)


def _codes(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [("", "")] + [(value, value) for value in values]


class YesNoField(forms.TypedChoiceField):
    """A filter that is "1" (yes), "0" (no), or absent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=[("", ""), ("1", "1"), ("0", "0")],
            coerce=lambda value: value == "1",
            empty_value=None,
            required=False,
            **kwargs,
        )


class FleetForm(ShowsInstants, forms.Form):
    """The instant, the filters and the second instant of the Fleet page."""

    at = InstantField(label=gettext_lazy("Date and time"), required=False)
    compare_at = InstantField(label=gettext_lazy("Compare with"), required=False)
    q = forms.CharField(
        label=gettext_lazy("Search"), required=False, max_length=100, strip=True
    )
    transport_status = forms.ChoiceField(
        required=False, choices=_codes(TRANSPORT_STATUSES)
    )
    routing_status = forms.ChoiceField(required=False, choices=_codes(ROUTING_STATUSES))
    location = forms.ChoiceField(
        required=False, choices=_codes(tuple(place.value for place in Location))
    )
    destination = forms.ChoiceField(
        required=False, choices=_codes(tuple(place.value for place in Location))
    )
    misdirected = YesNoField()
    late = YesNoField()
    # As long as a voyage number may be: a facet's link must always be valid.
    voyage = forms.CharField(required=False, strip=True)
    after = forms.CharField(required=False, max_length=100)
    format = forms.ChoiceField(
        required=False,
        choices=[("", "HTML"), ("html", "HTML"), ("json", "JSON"), ("csv", "CSV")],
    )

    def clean_after(self) -> Cursor | None:
        text = self.cleaned_data.get("after") or ""
        if not text:
            return None
        moment, _bar, tracking_id = text.rpartition("|")
        broken = ValidationError(
            _("This page link is broken: start again from the first page."),
            code="invalid",
        )
        try:
            booked_at = datetime.fromisoformat(moment)
            cursor = (checked_instant(booked_at, moment), UUID(tracking_id))
        except (ValueError, TypeError):
            raise broken from None
        return cursor

    def filters(self) -> FleetFilters:
        """Return the filters the form asks for."""
        data = self.cleaned_data
        return FleetFilters(
            transport_status=data.get("transport_status") or None,
            routing_status=data.get("routing_status") or None,
            location=data.get("location") or None,
            destination=data.get("destination") or None,
            misdirected=data.get("misdirected"),
            late=data.get("late"),
            voyage=data.get("voyage") or None,
            q=data.get("q") or "",
            # Place names in the page's language too: "Tokio" finds Tokyo.
            places=tuple(place.value for place in locations_matching(data["q"]))
            if data.get("q")
            else None,
        )


@dataclass(frozen=True)
class Option:
    """One option of a facet: its words, its count, its link, whether chosen."""

    label: str
    count: int
    href: str
    chosen: bool


@dataclass(frozen=True)
class Facet:
    """A filter of the sidebar, with its options."""

    title: str
    options: list[Option]


class FleetView:
    """Answer one request for the Fleet page, as HTML, JSON or CSV."""

    def __init__(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> None:
        self.request = request
        self.model_admin = model_admin
        self.format = request.GET.get("format") or "html"
        self.zone = timezone.get_current_timezone()

    def respond(self) -> HttpResponseBase:
        """Return the page, or the reason it cannot be shown."""
        if not self.model_admin.has_view_permission(self.request):
            if self.format in {"json", "csv"}:
                return JsonResponse(
                    {
                        "error": _(
                            "You may not view cargo history: ask for the permission "
                            "cargotime.view_cargo_history."
                        )
                    },
                    status=403,
                )
            return forbidden(self.request, self.model_admin.admin_site)
        if self.request.method not in {"GET", "HEAD"}:
            return HttpResponseNotAllowed(["GET", "HEAD"])
        form = FleetForm(self.request.GET)
        if not form.is_valid():
            return self.invalid(form)
        at: datetime = form.cleaned_data.get("at") or timezone.now()
        filters = form.filters()
        if form.cleaned_data.get("format") == "csv":
            # Streamed: once begun, it cannot begin again on the primary.
            return self.csv(read_application(), at, filters)
        # The replica, once it has replayed everything the primary had written by
        # now; the primary, if not or if the replica fails mid-read.
        return read_with_fallback(
            lambda app: self.read(app, form=form, at=at, filters=filters)
        )

    def read(
        self,
        app: SearchableTimestampsApplication,
        *,
        form: FleetForm,
        at: datetime,
        filters: FleetFilters,
    ) -> HttpResponseBase:
        with consistent_read(database_alias(app)):
            counts = fleet_counts(at, app=app, filters=filters)
            page = fleet_at(
                at,
                app=app,
                filters=filters,
                limit=CARGOS_PER_PAGE,
                after=form.cleaned_data.get("after"),
            )
            if form.cleaned_data.get("format") == "json":
                return self.json(page, counts)
            other: datetime | None = form.cleaned_data.get("compare_at")
            # The calendar and the clock start at the instant shown.
            form.show_instant("at", at, fill=False)
            form.show_instant("compare_at", other or at, fill=False)
            comparison = (
                compare_fleet(at, other, app=app, filters=filters) if other else None
            )
            response = self.render(
                form,
                status=200,
                at=at,
                filters=filters,
                counts=counts,
                page=page,
                comparison=comparison,
            )
            response.render()
        return response

    def invalid(self, form: FleetForm) -> HttpResponse:
        if self.format in {"json", "csv"}:
            errors = {
                name: [str(message) for message in messages]
                for name, messages in form.errors.items()
            }
            return JsonResponse({"errors": errors}, status=400)
        response = self.render(form, status=400)
        return response

    def json(self, page: FleetPage, counts: FleetCounts) -> JsonResponse:
        following = (
            self.request.build_absolute_uri(
                self.link({"after": _cursor(page.next), "at": page.at.isoformat()})
            )
            if page.next
            else None
        )
        return JsonResponse(
            {
                "at": page.at.isoformat(),
                "count": counts.count,
                "counts": {
                    "transport_status": counts.transport_status,
                    "routing_status": counts.routing_status,
                    "misdirected": counts.misdirected,
                },
                "cargos": [cargo_as_json(cargo) for cargo in page.cargos],
                "next": following,
            }
        )

    def csv(self, app: Any, at: datetime, filters: FleetFilters) -> HttpResponseBase:
        rows = _csv_rows(app, at, filters)
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        # isoformat(), not strftime("%Y"), which writes the year 2 as "2".
        stamp = at.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
        name = f"fleet-{stamp.replace('-', '').replace(':', '')}Z.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def render(
        self, form: FleetForm, *, status: int, **context: Any
    ) -> SimpleTemplateResponse:
        site = self.model_admin.admin_site
        self.request.current_app = site.name
        at: datetime | None = context.get("at")
        extra: dict[str, Any] = {}
        if at is not None:
            counts: FleetCounts = context["counts"]
            page: FleetPage = context["page"]
            filters: FleetFilters = context["filters"]
            extra = {
                # "Now" is shown to the second; the page reads the exact instant,
                # which its links carry on.
                "at_text": format_instant(
                    at.replace(microsecond=0) if self.is_now(form) else at, self.zone
                ),
                "facets": self.facets(counts, filters),
                "summary": self.summary(counts),
                "rows": [self.row(cargo, at) for cargo in page.cargos],
                # The next page is read at the same instant, "now" made concrete.
                "next_href": self.link(
                    {"after": _cursor(page.next), "at": at.isoformat()}
                )
                if page.next
                else "",
                "first_href": self.link({"after": None})
                if form.cleaned_data.get("after")
                else "",
                "json_href": self.link({"format": "json", "after": None}),
                "csv_href": self.link({"format": "csv", "after": None}),
                "transitions": self.transitions(context.get("comparison")),
                "changes": self.changes(context.get("comparison")),
                "compared": self.compared(context.get("comparison"), at, form),
            }
        return TemplateResponse(
            self.request,
            TEMPLATES,
            {
                **site.each_context(self.request),
                "opts": self.model_admin.opts,
                "title": _("Fleet"),
                "form": form,
                "time_travel_href": _time_travel_url(site.name),
                "at_value": form.data.get("at", ""),
                "compare_value": form.data.get("compare_at", ""),
                "query": form.data.get("q", ""),
                # Their errors stand beside their inputs; the others' in the note.
                "shown_with_inputs": ("at", "compare_at", "q"),
                # The filters chosen in the sidebar, kept when the form is sent.
                "hidden_filters": [
                    (name, self.request.GET[name])
                    for name in FACETS
                    if self.request.GET.get(name) and name not in form.errors
                ],
                **context,
                **extra,
            },
            status=status,
        )

    def compared(
        self, comparison: FleetComparison | None, at: datetime, form: FleetForm
    ) -> tuple[str, str] | None:
        # The two instants as the heading names them; "now" to the second.
        if comparison is None:
            return None
        now = self.is_now(form)

        def text(moment: datetime) -> str:
            shown = moment.replace(microsecond=0) if now and moment == at else moment
            return format_instant(shown, self.zone)

        return text(comparison.earlier), text(comparison.later)

    def is_now(self, form: FleetForm) -> bool:
        return str(form.data.get("at") or "").strip().lower() in {"", "now"}

    def facets(self, counts: FleetCounts, filters: FleetFilters) -> list[Facet]:
        words = {
            "transport_status": (_("By transport status"), transport_status),
            "routing_status": (_("By routing status"), routing_status),
            "location": (_("By last known location"), place_name),
            "destination": (_("By destination"), place_name),
            "misdirected": (_("By misdirected"), _yes_no),
            "late": (_("By late"), _yes_no),
            "voyage": (_("By voyage"), _voyage),
        }
        chosen = filters.active()
        facets = []
        for name, (title, word) in words.items():
            options = [
                Option(
                    label=_("All"),
                    count=sum(counts.facets.get(name, {}).values()),
                    href=self.link({name: None, "after": None}),
                    chosen=name not in chosen,
                )
            ]
            found = counts.facets.get(name, {})
            for value, count in sorted(found.items(), key=lambda item: str(item[0])):
                if value is None:
                    continue  # No location or voyage yet: nothing a filter names.
                options.append(
                    Option(
                        label=str(word(value)),
                        count=count,
                        href=self.link({name: _parameter(value), "after": None}),
                        chosen=chosen.get(name, object()) == value,
                    )
                )
            facets.append(Facet(str(title), options))
        return facets

    def summary(self, counts: FleetCounts) -> list[tuple[str, int]]:
        # In the order a cargo lives them.
        order = {code: number for number, code in enumerate(TRANSPORT_STATUSES)}
        return [
            (str(transport_status(code)), count)
            for code, count in sorted(
                counts.transport_status.items(),
                key=lambda item: order.get(item[0], len(order)),
            )
        ]

    def transitions(self, comparison: FleetComparison | None) -> list[tuple[str, int]]:
        if comparison is None:
            return []
        lines = []
        for (before, after), count in comparison.transitions.items():
            was = transport_status(before) if before else _("Not yet booked")
            lines.append((f"{was} → {transport_status(after)}", count))
        return lines

    def changes(self, comparison: FleetComparison | None) -> list[dict[str, Any]]:
        if comparison is None:
            return []
        words = {
            "transport_status": _("transport status"),
            "last_known_location": _("location"),
            "destination": _("destination"),
            "route": _("route"),
        }
        url = _time_travel_url(self.model_admin.admin_site.name)
        rows = []
        for change in comparison.changes:
            tracking_id = change.after.tracking_id
            query = {
                "tracking_id": str(tracking_id),
                "at": comparison.later.isoformat(),
            }
            what = (
                ", ".join(str(words[name]) for name in change.changed)
                if change.before
                else _("booked since")
            )
            if change.before:
                query["compare_at"] = comparison.earlier.isoformat()
            rows.append(
                {
                    "tracking_id": tracking_id,
                    "href": f"{url}?{urlencode(query)}",
                    "words": what,
                }
            )
        return rows

    def row(self, cargo: FleetCargo, at: datetime) -> dict[str, Any]:
        return {
            "cargo": cargo,
            "href": f"{_time_travel_url(self.model_admin.admin_site.name)}?"
            + urlencode({"tracking_id": str(cargo.tracking_id), "at": at.isoformat()}),
            "route": f"{place_name(cargo.origin)} → {place_name(cargo.destination)}",
            "status": transport_status(cargo.transport_status),
            "location": place_name(cargo.last_known_location)
            if cargo.last_known_location
            else "",
            "destination": place_name(cargo.destination),
            "eta": self.short(cargo.estimated_time_of_arrival),
            "deadline": self.short(cargo.arrival_deadline),
            "last_event": self.short(cargo.last_event_at),
        }

    def short(self, value: datetime | None) -> str:
        """Return *value* in the local zone to the minute; the page's tables use it."""
        if value is None:
            return ""
        return in_zone(value, self.zone).strftime("%Y-%m-%d %H:%M")

    def link(self, changes: Mapping[str, Any]) -> str:
        """Return this page's path with its parameters, changed by *changes*."""
        params: dict[str, str] = {}
        for name in PARAMETERS:
            value = self.request.GET.get(name)
            if value:
                params[name] = value
        for name, value in changes.items():
            if value in (None, ""):
                params.pop(name, None)
            else:
                params[name] = str(value)
        query = urlencode(params)
        return f"{self.request.path}?{query}" if query else self.request.path


def cargo_as_json(cargo: FleetCargo) -> dict[str, Any]:
    """Return a fleet row as the JSON gives it: codes, and ISO 8601 with offsets."""
    values = {key: getattr(cargo, key) for key in CARGO_KEYS}
    values["tracking_id"] = str(cargo.tracking_id)
    for key, value in values.items():
        if isinstance(value, datetime):
            values[key] = instant_as_json(value)
    return values


def _csv_rows(app: Any, at: datetime, filters: FleetFilters) -> Iterator[str]:
    # Streamed a batch of rows at a time, from one consistent snapshot.
    buffer = _Line()
    writer = csv.writer(buffer)
    writer.writerow(CARGO_KEYS)
    yield buffer.take()
    with consistent_read(database_alias(app)):
        for cargo in iter_fleet(at, app=app, filters=filters):
            row = cargo_as_json(cargo)
            writer.writerow([_cell(row[key]) for key in CARGO_KEYS])
            yield buffer.take()


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with one of these as a formula: imported
    # voyage numbers are free text, so such a cell is written as text.
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return f"'{value}"
    return value


class _Line:
    """A file for csv.writer that hands back each line it was given."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def take(self) -> str:
        text, self.text = self.text, ""
        return text


def _cursor(cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    booked_at, tracking_id = cursor
    return f"{booked_at.isoformat()}|{tracking_id}"


def _parameter(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _yes_no(value: Any) -> str:
    return _("Yes") if value else _("No")


def _voyage(value: Any) -> str:
    return str(value)


def _time_travel_url(site_name: str) -> str:
    from django.urls import reverse

    return reverse("admin:cargotime_time_travel", current_app=site_name)
