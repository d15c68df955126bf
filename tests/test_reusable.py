from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import TestCase, override_settings
from django.urls import reverse

from cargotime.apps import get_application
from cargotime.domain import Location
from tests import minimal_settings

# End to end: a minimal project in subprocesses. `pytest -m "not e2e"` leaves it out.
pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
# The settings a project adding cargotime must have; the database stays the suite's.
MINIMAL = {
    name: getattr(minimal_settings, name)
    for name in ("INSTALLED_APPS", "MIDDLEWARE", "TEMPLATES", "ROOT_URLCONF")
}
CHECK = """
import django
from django.core.management import call_command
django.setup()
call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)
call_command("makemigrations", "cargotime", check=True, dry_run=True, verbosity=0)
"""


class MinimalProjectTests(TestCase):
    def test_a_minimal_project_passes_its_checks_and_migrates(self) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        result = subprocess.run(
            [sys.executable, "-c", CHECK],
            cwd=ROOT,
            env={**environ, "DJANGO_SETTINGS_MODULE": "tests.minimal_settings"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "System check identified no issues" in result.stdout

    @override_settings(**MINIMAL)
    def test_a_minimal_project_serves_the_time_travel_page(self) -> None:
        tracking_id = get_application().book_new_cargo(
            Location.NLRTM, Location.USDAL, datetime(2030, 1, 1, tzinfo=UTC)
        )
        user = get_user_model().objects.create_superuser("minimal", password="x" * 12)
        self.client.force_login(user)
        url = reverse("admin:cargotime_time_travel")
        listing = self.client.get(url)
        assert listing.status_code == 200
        assert str(tracking_id) in listing.content.decode()
        page = self.client.get(url, {"tracking_id": str(tracking_id)})
        assert page.status_code == 200
        assert "NLRTM" in page.content.decode()
