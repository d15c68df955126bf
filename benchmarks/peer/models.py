"""A Cargo with the index's state fields, its history kept by django-simple-history.

The benchmarks fill its historical table in bulk SQL with the very rows of cargotime's
index (same cargos, versions, timestamps and states), and ask both for the fleet at T.
"""

# The same nullable columns as cargotime's index, NULL meaning what it means there.
# ruff: noqa: DJ001

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords  # type: ignore[import-untyped]


class Cargo(models.Model):
    tracking_id = models.UUIDField(primary_key=True)
    origin = models.CharField(max_length=16, null=True)
    destination = models.CharField(max_length=16, null=True)
    arrival_deadline = models.DateTimeField(null=True)
    transport_status = models.CharField(max_length=20, null=True)
    routing_status = models.CharField(max_length=20, null=True)
    is_misdirected = models.BooleanField(null=True)
    last_known_location = models.CharField(max_length=16, null=True)
    current_voyage_number = models.TextField(null=True)
    estimated_time_of_arrival = models.DateTimeField(null=True)
    route = models.TextField(null=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return str(self.tracking_id)
