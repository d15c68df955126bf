"""The timestamp index: a row for every stored cargo event, and the state after it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from eventsourcing.application import Application


def database_alias(app: Application[Any]) -> str:
    """Return the database alias the application's recorder reads and writes."""
    # eventsourcing-django's recorder takes None for Django's default database.
    return str(getattr(app.recorder, "using", None) or DEFAULT_DB_ALIAS)


class EventTimestampQuerySet(models.QuerySet["EventTimestamp"]):
    def of(self, app: Application[Any]) -> EventTimestampQuerySet:
        """Return the rows of *app*'s own store, from the database that holds it."""
        return self.using(database_alias(app)).filter(application_name=app.name)


class EventTimestamp(models.Model):
    # Each application name is a store of its own, as in eventsourcing-django's tables.
    application_name = models.CharField(_("application name"), max_length=32)
    originator_id = models.UUIDField(_("tracking ID"))
    originator_version = models.BigIntegerField(_("version"))
    timestamp = models.DateTimeField(_("timestamp"))
    # What the cargo was after the event, queryable: written with the event, in the
    # same transaction. Rows indexed before these columns existed hold NULL until
    # `timestamp_index rebuild` fills them; a cargo always has an origin otherwise.
    # NULL is a value here, as in the domain: no location yet, no voyage, no route.
    origin = models.CharField(_("origin"), max_length=16, null=True)
    destination = models.CharField(_("destination"), max_length=16, null=True)
    arrival_deadline = models.DateTimeField(_("arrival deadline"), null=True)
    transport_status = models.CharField(_("transport status"), max_length=20, null=True)
    routing_status = models.CharField(_("routing status"), max_length=20, null=True)
    is_misdirected = models.BooleanField(_("misdirected"), null=True)
    last_known_location = models.CharField(
        _("last known location"), max_length=16, null=True
    )
    current_voyage_number = models.TextField(_("current voyage number"), null=True)
    estimated_time_of_arrival = models.DateTimeField(
        _("estimated time of arrival"), null=True
    )
    # The legs as JSON text, [[origin, voyage, destination], …]: see cargo_states.
    route = models.TextField(_("route"), null=True)

    objects = EventTimestampQuerySet.as_manager()

    class Meta:
        verbose_name = _("event timestamp")
        verbose_name_plural = _("event timestamps")
        constraints = [
            # Two events of one cargo may share a timestamp, never a version.
            models.UniqueConstraint(
                fields=["application_name", "originator_id", "originator_version"],
                name="cargotime_et_unique_version",
            ),
        ]
        indexes = [
            # Shaped for "the latest event at or before T": an index probe, no sort.
            models.Index(
                fields=[
                    "application_name",
                    "originator_id",
                    "timestamp",
                    "originator_version",
                ],
                name="cargotime_et_app_lookup",
            ),
            # The bookings, newest first: the admin's list of cargos to pick from.
            models.Index(
                fields=["application_name", "-timestamp", "-originator_id"],
                condition=Q(originator_version=1),
                name="cargotime_et_app_bookings",
            ),
        ]
        # Rows are written with their events and only ever read, by those who may
        # see cargo history: add, change, delete and view would each grant nothing.
        default_permissions = ()
        permissions = [
            ("view_cargo_history", _("Can view a cargo as it was at any time")),
        ]

    def __str__(self) -> str:
        return f"{self.originator_id} v{self.originator_version} at {self.timestamp}"


class TimeTravel(EventTimestamp):
    """The admin's time-travel page, listed in the app's section of the admin index."""

    class Meta:
        proxy = True
        verbose_name = _("time travel")
        verbose_name_plural = _("time travel")
        # Viewing needs cargotime.view_cargo_history; nothing else applies.
        default_permissions = ()


class Fleet(EventTimestamp):
    """The admin's Fleet page: every cargo as it was at an instant."""

    class Meta:
        proxy = True
        verbose_name = _("fleet")
        verbose_name_plural = _("fleet")
        # Viewing needs cargotime.view_cargo_history; nothing else applies.
        default_permissions = ()
