"""The admin: the read-only timestamp index, and the time-travel page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cargotime.admin.display import place_name, transport_status
from cargotime.admin.fleet import FleetView
from cargotime.admin.forbidden import VIEW_CARGO_HISTORY, forbidden
from cargotime.admin.views import TimeTravelView
from cargotime.application import tracking_id_prefix
from cargotime.apps import get_application
from cargotime.models import EventTimestamp, Fleet, TimeTravel, database_alias
from cargotime.templatetags.cargotime_admin import local_instant

if TYPE_CHECKING:
    EventTimestampModelAdmin = admin.ModelAdmin[EventTimestamp]
    TimeTravelModelAdmin = admin.ModelAdmin[TimeTravel]
    FleetModelAdmin = admin.ModelAdmin[Fleet]
else:
    # ModelAdmin is generic only in the type stubs.
    EventTimestampModelAdmin = TimeTravelModelAdmin = FleetModelAdmin = admin.ModelAdmin


def can_view_cargo_history(request: HttpRequest) -> bool:
    """Return whether the request's user may see cargos as they were."""
    return request.user.has_perm(VIEW_CARGO_HISTORY)


# Index rows and the time-travel page both tell a cargo's history: they may only be
# viewed, and only with cargotime.view_cargo_history.
class _ViewHistoryOnly:
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view_cargo_history(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        for pattern in urls:
            pattern.callback = self._explain_refusal(pattern.callback)
        return urls

    def _explain_refusal(
        self, view: Callable[..., HttpResponseBase]
    ) -> Callable[..., HttpResponseBase]:
        # Staff without the permission get the admin-styled page that names it.
        site: admin.AdminSite = self.admin_site  # type: ignore[attr-defined]

        @wraps(view)
        def explained(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied:
                if can_view_cargo_history(request):
                    raise
                return forbidden(request, site)

        return explained


class IndexChangeList(ChangeList):
    def get_filters_params(self, params: Any = None) -> Any:
        lookup_params = super().get_filters_params(params)
        for key, values in lookup_params.items():
            if key.split("__")[0] == "timestamp":
                lookup_params[key] = [_in_utc(value, key) for value in values]
        return lookup_params

    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            # Django's date hierarchy checks the first day of the range a link asks
            # for, not the day after its end: ?timestamp__year=9999 ends in year
            # 10000, and a year too big for C overflows. Like any lookup it cannot
            # use, send it back to the list with ?e=1.
            raise IncorrectLookupParameters(error) from error


def _in_utc(value: str, key: str) -> str:
    # An instant typed with any offset Python takes (up to ±23:59) is looked up in
    # UTC: PostgreSQL refuses offsets past ±15:59. Lists (__in) hold several.
    if key.endswith("__in"):
        return ",".join(_in_utc(part, "") for part in value.split(","))
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        return value
    try:
        if parsed.utcoffset() is None:
            # Read in the current zone, as Django would, but without its warning.
            parsed = timezone.make_aware(parsed)
        return parsed.astimezone(UTC).isoformat()
    except OverflowError as error:
        raise IncorrectLookupParameters(error) from error


@admin.register(EventTimestamp)
class EventTimestampAdmin(_ViewHistoryOnly, EventTimestampModelAdmin):
    list_display = [
        "tracking_id",
        "originator_version",
        "instant",
        "places",
        "status",
        "time_travel",
    ]
    list_display_links = None
    list_filter = [("timestamp", admin.DateFieldListFilter)]
    date_hierarchy = "timestamp"
    search_fields = ["originator_id"]
    search_help_text = _("A tracking ID, or its first characters.")
    ordering = ["-timestamp", "-originator_version"]
    show_full_result_count = False
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return IndexChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[EventTimestamp]:
        # The rows of the application's own store, in the database that holds it.
        app = get_application()
        return (
            super()
            .get_queryset(request)
            .using(database_alias(app))
            .filter(application_name=app.name)
        )

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        try:
            return super().get_changelist_instance(request)
        except OverflowError as error:
            # An instant at the end of the range has no value in UTC: SQLite's
            # adapter raises as the query runs. Back to the list with ?e=1 too.
            raise IncorrectLookupParameters(error) from error

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[EventTimestamp], search_term: str
    ) -> tuple[QuerySet[EventTimestamp], bool]:
        # A whole tracking ID, or the start of one; anything else matches nothing.
        term = search_term.strip().lower()
        if not term:
            return queryset, False
        try:
            return queryset.filter(originator_id=UUID(term)), False
        except ValueError:
            pass
        prefix = tracking_id_prefix(term)
        if prefix:
            return queryset.filter(originator_id__istartswith=prefix), False
        return queryset.none(), False

    @admin.display(description=_("tracking ID"), ordering="originator_id")
    def tracking_id(self, obj: EventTimestamp) -> SafeString:
        # Narrows the list to this cargo's events.
        return format_html(
            '<a href="?{}" title="{}">{}</a>',
            urlencode({"q": str(obj.originator_id)}),
            gettext("Only this cargo"),
            obj.originator_id,
        )

    @admin.display(description=_("timestamp"), ordering="timestamp")
    def instant(self, obj: EventTimestamp) -> str:
        # To the microsecond: two events can be apart by less than a second.
        return local_instant(obj.timestamp)

    @admin.display(description=_("route"))
    def places(self, obj: EventTimestamp) -> str:
        # The places as people read them; "—" for a row indexed before states.
        if obj.origin is None or obj.destination is None:
            return "—"
        return f"{place_name(obj.origin)} → {place_name(obj.destination)}"

    @admin.display(description=_("transport status"))
    def status(self, obj: EventTimestamp) -> str:
        words = transport_status(obj.transport_status) or "—"
        if obj.is_misdirected:
            return gettext("%(status)s, misdirected") % {"status": words}
        return words

    @admin.display(description=_("time travel"))
    def time_travel(self, obj: EventTimestamp) -> SafeString:
        url = reverse("admin:cargotime_time_travel", current_app=self.admin_site.name)
        query = urlencode(
            {"tracking_id": str(obj.originator_id), "version": obj.originator_version}
        )
        return format_html(
            '<a href="{}?{}">{}</a>',
            url,
            query,
            gettext("See the cargo at version %(version)s")
            % {"version": obj.originator_version},
        )


@admin.register(TimeTravel)
class TimeTravelAdmin(_ViewHistoryOnly, TimeTravelModelAdmin):
    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.time_travel_view)
        # The page never writes, and reads in a read-only snapshot of its own: a
        # request-wide transaction (ATOMIC_REQUESTS) would already have read.
        for alias in connections:
            view = transaction.non_atomic_requests(using=alias)(view)
        return [
            path("", view, name="cargotime_time_travel"),
            # The admin index links each model to its changelist: here, this page.
            path("", view, name="cargotime_timetravel_changelist"),
        ]

    def time_travel_view(self, request: HttpRequest) -> HttpResponseBase:
        """Show a cargo as it was at an instant, or the cargos to pick from."""
        return TimeTravelView(request, self).respond()


@admin.register(Fleet)
class FleetAdmin(_ViewHistoryOnly, FleetModelAdmin):
    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.fleet_view)
        # Read-only, in a snapshot of its own, as the time-travel page.
        for alias in connections:
            view = transaction.non_atomic_requests(using=alias)(view)
        return [
            path("", view, name="cargotime_fleet"),
            # The admin index links each model to its changelist: here, this page.
            path("", view, name="cargotime_fleet_changelist"),
        ]

    def fleet_view(self, request: HttpRequest) -> HttpResponseBase:
        """Show every cargo as it was at an instant, filtered and compared."""
        return FleetView(request, self).respond()
