"""The peer's app: installed by benchmarks/settings.py only, never shipped."""

from __future__ import annotations

from django.apps import AppConfig


class PeerConfig(AppConfig):
    name = "benchmarks.peer"
    label = "peer"
    default_auto_field = "django.db.models.BigAutoField"
