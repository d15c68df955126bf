"""The time-travel page: a cargo as it was, its timeline, or the cargos to pick from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import SimpleTemplateResponse, TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from cargotime.admin.display import Field, cargo_fields, place_name
from cargotime.admin.forbidden import forbidden
from cargotime.admin.forms import CargoSearchForm, TimeTravelForm, clean_query
from cargotime.admin.fragments import (
    mark_html,
    since_html,
    timeline_rows_html,
    value_html,
)
from cargotime.admin.json_state import cargo_as_json
from cargotime.admin.picker import (
    CARGOS_PER_PAGE,
    describe_cargos,
    find_cargos,
    page_of,
)
from cargotime.admin.timeline import Entry, Page, build_strip
from cargotime.admin.visits import (
    NotYetBooked,
    TimeTravelError,
    Visit,
    compare,
    read_visit,
)
from cargotime.application import tracking_id_prefix
from cargotime.consistent_read import consistent_read
from cargotime.models import database_alias
from cargotime.read_replica import read_with_fallback
from cargotime.templatetags.cargotime_admin import (
    describe_zone,
    format_instant,
    in_zone,
    zone_name,
)

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    from cargotime.application import SearchableTimestampsApplication

# The query parameters the page reads: its links carry these, and no others.
PARAMETERS = (
    "tracking_id",
    "at",
    "version",
    "compare_at",
    "q",
    "page",
    "events_after",
    "events_before",
    "format",
)
TEMPLATES = ["admin/cargotime/time_travel.html", "cargotime/admin/time_travel.html"]


@dataclass(frozen=True)
class Row:
    """A timeline entry with its permalink, and whether it is the one shown."""

    entry: Entry
    href: str
    current: bool


class TimeTravelView:
    """Answer one request for the time-travel page, as HTML or as JSON."""

    def __init__(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> None:
        self.request = request
        self.model_admin = model_admin
        self.json = request.GET.get("format") == "json"
        self.zone = timezone.get_current_timezone()
        self._version_hrefs: dict[tuple[UUID, int], str] = {}

    def respond(self) -> HttpResponseBase:
        """Return the page, or the reason it cannot be shown."""
        if not self.model_admin.has_view_permission(self.request):
            if self.json:
                return self.json_error(
                    403,
                    _(
                        "You may not view cargo history: ask for "
                        "cargotime.view_cargo_history."
                    ),
                )
            return forbidden(self.request, self.model_admin.admin_site)
        if self.request.method not in {"GET", "HEAD"}:
            return HttpResponseNotAllowed(["GET", "HEAD"])
        # A replica serves the answer only once it has replayed everything the
        # primary had written by now; otherwise, or if it fails mid-read, the
        # primary does.
        return read_with_fallback(self.read)

    def read(self, app: SearchableTimestampsApplication) -> HttpResponseBase:
        self.app = app
        if self.json and self.request.GET.get("tracking_id"):
            # A cargo's JSON is read in one statement: a snapshot of its own. It
            # renders no form: the form's fields check the query, and only where
            # they find an error does the form itself say what it is.
            data = clean_query(self.request.GET)
            if data is not None and data["tracking_id"] is not None:
                return self.travel_json(data, data["tracking_id"])
            return self.answer()
        # Every read of one answer sees one snapshot: a save landing between two
        # of them cannot make the page say "version 9 of 8".
        with consistent_read(database_alias(self.app)):
            response = self.answer()
            if isinstance(response, SimpleTemplateResponse):
                # What the template still reads, it reads in the same snapshot.
                response.render()
        return response

    def answer(self) -> HttpResponseBase:
        form = TimeTravelForm(self.request.GET)
        if not form.is_valid():
            tracking_id = form.cleaned_data.get("tracking_id")
            if not self.json and form.only_compare_is_wrong() and tracking_id:
                # The cargo and its timeline stay; the error sits by the compare box.
                return self.travel(form, tracking_id)
            prefix = self.prefix_typed(form)
            if prefix is not None:
                return self.find(prefix)
            return self.invalid(form)
        tracking_id = form.tracking_id_value
        if tracking_id is None:
            return self.pick(form)
        return self.travel(form, tracking_id)

    def travel_json(
        self, data: Mapping[str, Any], tracking_id: UUID
    ) -> HttpResponseBase:
        version: int | None = data.get("version")
        instant: datetime | None = data.get("at")
        if version is None and instant is None:
            instant = timezone.now()
        try:
            current, timeline = read_visit(
                self.app,
                tracking_id,
                instant=instant,
                version=version,
                with_changes=False,
                after=data.get("events_after"),
                before=data.get("events_before"),
                words=False,
            )
        except NotYetBooked as error:
            assert instant is not None
            return self.json_error(
                404, self.not_yet_booked_message(tracking_id, instant, error)
            )
        except TimeTravelError as error:
            return self.json_error(404, str(error))
        return self.json_state(current, timeline)

    def travel(self, form: TimeTravelForm, tracking_id: UUID) -> HttpResponseBase:
        if self.json:
            return self.travel_json(form.cleaned_data, tracking_id)
        data = form.cleaned_data
        version: int | None = data.get("version")
        instant: datetime | None = data.get("at")
        now = timezone.now()
        if version is None and instant is None:
            instant = now
        app = self.app
        try:
            current, timeline = read_visit(
                app,
                tracking_id,
                instant=instant,
                version=version,
                after=data.get("events_after"),
                before=data.get("events_before"),
            )
        except NotYetBooked as error:
            assert instant is not None
            return self.not_yet_booked(form, tracking_id, instant, error)
        except TimeTravelError as error:
            return self.not_found(form, str(error))
        other: datetime | None = data.get("compare_at")
        comparison = compare(app, current, other) if other else None
        typed_at = str(form.data.get("at") or "").strip()
        instant_is_now = version is None and typed_at.lower() in {"", "now"}
        # "Now" is shown to the second; a typed instant as precisely as it was typed.
        shown = (
            current.instant.replace(microsecond=0)
            if instant_is_now
            else current.instant
        )
        form.show_instant("at", current.instant, fill=version is not None)
        form.show_instant("compare_at", other or current.instant, fill=False)
        instant_local = format_instant(shown, self.zone)
        instant_utc = format_instant(shown, UTC)
        rows = self.rows(current, timeline.entries)
        fields = cargo_fields(current.cargo)
        strip = build_strip(
            current.span,
            timeline.entries,
            current=current.event,
            instant=current.instant,
            link=lambda number: self.version_href(tracking_id, number),
        )
        return self.render(
            form,
            status=200,
            visit=current,
            fields=fields,
            **self.cargo_in_words(current, fields),
            instant_local=instant_local,
            instant_utc=instant_utc,
            # Where local time is UTC, the time is shown once.
            show_utc=instant_local != instant_utc,
            instant_is_now=instant_is_now,
            # Past the latest event, and still to come: say so.
            in_future=current.instant > now and not instant_is_now,
            at_value=typed_at,
            # The compare box keeps the instant as it was typed.
            instant_exact=typed_at or in_zone(current.instant, self.zone).isoformat(),
            permalink=self.link(
                {"tracking_id": tracking_id, "at": current.instant.isoformat()}
            ),
            previous_href=self.version_link(current, current.cargo.version - 1),
            next_href=self.version_link(current, current.cargo.version + 1),
            first_href=self.version_link(current, current.span.first_version),
            last_href=self.version_link(current, current.span.last_version),
            rows=rows,
            rows_html=timeline_rows_html(rows),
            timeline=timeline,
            earlier_href=self.page_link(current, events_before=timeline.before),
            later_href=self.page_link(current, events_after=timeline.after),
            strip=strip,
            marks_html=[mark_html(mark) for mark in strip.marks],
            comparison=comparison,
            comparison_rows=self.rows(current, comparison.events.entries)
            if comparison
            else [],
            comparison_more_href=self.page_link(
                current, events_after=comparison.events.after
            )
            if comparison and comparison.events.after
            else "",
            json_href=self.link(
                {**self.own_parameters(), "compare_at": None, "format": "json"}
            ),
        )

    def pick(self, form: TimeTravelForm) -> HttpResponse:
        search = CargoSearchForm(self.request.GET)
        query = search.cleaned_data["q"] if search.is_valid() else ""
        app = self.app
        page = page_of(
            find_cargos(app, query), self.request.GET.get("page"), CARGOS_PER_PAGE
        )
        at = (self.request.GET.get("at") or "").strip()
        cargos = [
            (row, self.link({"tracking_id": row.tracking_id, "at": at}))
            for row in describe_cargos(app, page.rows)
        ]
        return self.render(
            form,
            status=200,
            search=search,
            query=query,
            cargos=cargos,
            cargo_page=page,
            previous_cargos_href=self.link(
                {"q": query, "at": at, "page": page.number - 1}
            )
            if page.has_previous
            else "",
            next_cargos_href=self.link({"q": query, "at": at, "page": page.number + 1})
            if page.has_next
            else "",
            at_value=at,
        )

    def prefix_typed(self, form: TimeTravelForm) -> str | None:
        # The start of a tracking ID typed in its box, and nothing else wrong.
        if self.json or set(form.errors) != {"tracking_id"}:
            return None
        return tracking_id_prefix(str(form.data.get("tracking_id") or ""))

    def find(self, prefix: str) -> HttpResponseRedirect:
        # One cargo starts so: show it. Otherwise the list, filtered by the prefix.
        at = (self.request.GET.get("at") or "").strip()
        matches = list(find_cargos(self.app, prefix)[:2])
        if len(matches) == 1:
            tracking_id = matches[0].originator_id
            return HttpResponseRedirect(
                self.link({"tracking_id": tracking_id, "at": at})
            )
        return HttpResponseRedirect(self.link({"q": prefix, "at": at}))

    def invalid(self, form: TimeTravelForm) -> HttpResponse:
        if self.json:
            errors = {
                field: [str(message) for message in messages]
                for field, messages in form.errors.items()
            }
            return JsonResponse({"errors": errors}, status=400)
        return self.render(form, status=400, at_value=form.data.get("at", ""))

    def not_found(self, form: TimeTravelForm, message: str) -> HttpResponse:
        if self.json:
            return self.json_error(404, message)
        return self.render(
            form, status=404, error=message, at_value=form.data.get("at", "")
        )

    def not_yet_booked(
        self,
        form: TimeTravelForm,
        tracking_id: UUID,
        instant: datetime,
        error: NotYetBooked,
    ) -> HttpResponse:
        booked = error.span.first_timestamp
        message = self.not_yet_booked_message(tracking_id, instant, error)
        if self.json:
            return self.json_error(404, message)
        if format_instant(instant, self.zone) == format_instant(instant, UTC):
            # Local time is UTC: each time once.
            message = _(
                "Cargo %(tracking_id)s did not exist yet at %(instant)s. "
                "It was booked at %(booked)s."
            ) % {
                "tracking_id": tracking_id,
                "instant": format_instant(instant, UTC),
                "booked": format_instant(booked, UTC),
            }
        return self.render(
            form,
            status=404,
            error=message,
            first_event_href=self.link(
                {"tracking_id": tracking_id, "version": error.span.first_version}
            ),
            at_value=form.data.get("at", ""),
        )

    def not_yet_booked_message(
        self, tracking_id: UUID, instant: datetime, error: NotYetBooked
    ) -> str:
        booked = error.span.first_timestamp
        return _(
            "Cargo %(tracking_id)s did not exist yet at %(instant)s "
            "(%(instant_utc)s). It was booked at %(booked)s (%(booked_utc)s)."
        ) % {
            "tracking_id": tracking_id,
            "instant": format_instant(instant, self.zone),
            "instant_utc": format_instant(instant, UTC),
            "booked": format_instant(booked, self.zone),
            "booked_utc": format_instant(booked, UTC),
        }

    def json_state(self, current: Visit, timeline: Page) -> JsonResponse:
        response = JsonResponse(
            cargo_as_json(current.tracking_id, current.cargo, timeline.entries)
        )
        # The timeline is paged like the HTML one; the cursors go in a Link header.
        links = []
        for rel, href in (
            ("prev", self.page_link(current, events_before=timeline.before)),
            ("next", self.page_link(current, events_after=timeline.after)),
        ):
            if href:
                links.append(f'<{self.request.build_absolute_uri(href)}>; rel="{rel}"')
        if links:
            response["Link"] = ", ".join(links)
        return response

    def json_error(self, status: int, message: str) -> JsonResponse:
        return JsonResponse({"error": message}, status=status)

    def render(
        self, form: TimeTravelForm, *, status: int, **context: Any
    ) -> HttpResponse:
        site = self.model_admin.admin_site
        self.request.current_app = site.name
        tracking_id = form.cleaned_data.get("tracking_id") if form.is_bound else None
        return TemplateResponse(
            self.request,
            TEMPLATES,
            {
                **site.each_context(self.request),
                "opts": self.model_admin.opts,
                "title": _("Time travel"),
                "subtitle": _("Cargo %(tracking_id)s") % {"tracking_id": tracking_id}
                if tracking_id
                else None,
                "form": form,
                "zone": describe_zone(self.zone),
                "zone_name": zone_name(self.zone),
                "tracking_id_value": str(tracking_id)
                if tracking_id
                else form.data.get("tracking_id", ""),
                "compare_value": form.data.get("compare_at", ""),
                "picker_href": self.link(),
                "now_tracking_id": str(tracking_id) if tracking_id else "",
                "at_example": self.example(),
                **context,
            },
            status=status,
        )

    def example(self) -> str:
        # Today at 14:00 in the staff member's zone, as the date and time box reads it.
        today = in_zone(timezone.now(), self.zone)
        return f"{today:%Y-%m-%d} 14:00"

    def cargo_in_words(self, current: Visit, fields: list[Field]) -> dict[str, Any]:
        # Each field beside the event it has held its value since, linked; the
        # itinerary's legs with their places named.
        def source(key: str) -> Row | None:
            entry = current.sources.get(key)
            if entry is None:
                return None
            href = self.version_href(current.tracking_id, entry.version)
            return Row(entry, href, entry.version == current.cargo.version)

        route = current.cargo.route
        field_rows: list[tuple[Field, Row | None]] = [
            (field, source(field.key)) for field in fields
        ]
        itinerary_source = source("itinerary")
        return {
            "field_rows": field_rows,
            # Each row's value and source, as HTML: written once per field.
            "field_rows_html": [
                (
                    field,
                    value_html(field),
                    since_html(row.entry, row.href) if row else "",
                )
                for field, row in field_rows
                if field.key != "itinerary"
            ],
            "itinerary_source": itinerary_source,
            "itinerary_since_html": since_html(
                itinerary_source.entry, itinerary_source.href
            )
            if itinerary_source
            else "",
            "legs": [
                {
                    "origin": place_name(leg.origin),
                    "destination": place_name(leg.destination),
                    "voyage_number": leg.voyage_number,
                }
                for leg in (route.legs if route else ())
            ],
        }

    def rows(self, current: Visit, entries: list[Entry]) -> list[Row]:
        return [
            Row(
                entry,
                self.version_href(current.tracking_id, entry.version),
                entry.version == current.cargo.version,
            )
            for entry in entries
        ]

    def version_link(self, current: Visit, version: int) -> str:
        span = current.span
        if not span.first_version <= version <= span.last_version:
            return ""
        return self.version_href(current.tracking_id, version)

    def version_href(self, tracking_id: UUID, version: int) -> str:
        # The timeline, the strip, the stepper and the field sources link the same
        # few versions: each link is written once a request.
        key = (tracking_id, version)
        href = self._version_hrefs.get(key)
        if href is None:
            href = self._version_hrefs[key] = self.link(
                {"tracking_id": tracking_id, "version": version}
            )
        return href

    def page_link(
        self,
        current: Visit,
        *,
        events_after: int | None = None,
        events_before: int | None = None,
    ) -> str:
        if events_after is None and events_before is None:
            return ""
        return self.link(
            {
                **self.own_parameters(),
                "events_after": events_after,
                "events_before": events_before,
            }
        )

    def own_parameters(self) -> dict[str, str]:
        # Links carry on the parameters this page reads, and drop any others.
        return {
            key: self.request.GET[key] for key in PARAMETERS if key in self.request.GET
        }

    def link(self, params: Mapping[str, object] | None = None) -> str:
        """Return this page's path with the non-empty *params* as its query."""
        query = urlencode(
            {
                key: str(value)
                for key, value in (params or {}).items()
                if value not in (None, "")
            }
        )
        return f"{self.request.path}?{query}" if query else self.request.path
