"""The timestamp index: one row for every stored cargo event."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventTimestamp(models.Model):
    originator_id = models.UUIDField(_("tracking ID"))
    originator_version = models.BigIntegerField(_("version"))
    timestamp = models.DateTimeField(_("timestamp"))

    class Meta:
        verbose_name = _("event timestamp")
        verbose_name_plural = _("event timestamps")
        constraints = [
            # Two events of one cargo may share a timestamp, never a version.
            models.UniqueConstraint(
                fields=["originator_id", "originator_version"],
                name="cargotime_eventtimestamp_unique_version",
            ),
        ]
        indexes = [
            # Shaped for "the latest event at or before T": an index probe, no sort.
            models.Index(
                fields=["originator_id", "timestamp", "originator_version"],
                name="cargotime_et_lookup",
            ),
            # The bookings, newest first: the admin's list of cargos to pick from.
            models.Index(
                fields=["-timestamp", "-originator_id"],
                condition=Q(originator_version=1),
                name="cargotime_et_bookings",
            ),
        ]
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
