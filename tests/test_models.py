"""The timestamp index model and its migration."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from uuid import UUID

from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import TestCase

from cargotime.models import EventTimestamp

TRACKING_ID = UUID("0f5a1a44-43a5-4a0a-9a35-5a3f0c6e9d21")
NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class TestMigrations(TestCase):
    def test_no_missing_migrations(self) -> None:
        out = StringIO()
        try:
            call_command(
                "makemigrations", "--check", "--dry-run", stdout=out, stderr=out
            )
        except SystemExit:  # makemigrations --check exits 1 when models changed.
            self.fail(f"The models have changes without a migration:\n{out.getvalue()}")
        assert "No changes detected" in out.getvalue()


class TestEventTimestamp(TestCase):
    def test_version_is_unique_per_cargo(self) -> None:
        EventTimestamp.objects.create(
            originator_id=TRACKING_ID, originator_version=1, timestamp=NOON
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            EventTimestamp.objects.create(
                originator_id=TRACKING_ID, originator_version=1, timestamp=NOON
            )

    def test_events_of_one_cargo_may_share_a_timestamp(self) -> None:
        for version in (1, 2, 3):
            EventTimestamp.objects.create(
                originator_id=TRACKING_ID, originator_version=version, timestamp=NOON
            )
        assert EventTimestamp.objects.filter(timestamp=NOON).count() == 3

    def test_other_cargos_may_use_the_same_version(self) -> None:
        EventTimestamp.objects.create(
            originator_id=TRACKING_ID, originator_version=1, timestamp=NOON
        )
        EventTimestamp.objects.create(
            originator_id=UUID(int=1), originator_version=1, timestamp=NOON
        )
        assert EventTimestamp.objects.count() == 2

    def test_str(self) -> None:
        row = EventTimestamp(
            originator_id=TRACKING_ID, originator_version=7, timestamp=NOON
        )
        assert str(row) == (
            "0f5a1a44-43a5-4a0a-9a35-5a3f0c6e9d21 v7 at 2024-03-01 12:00:00+00:00"
        )
