"""The German catalogue: complete, current with the code, and compiled."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import TestCase

from django.conf import settings
from django.test import Client, override_settings
from django.test import TestCase as DjangoTestCase
from django.urls import reverse
from django.utils import translation

from cargotime.admin.display import place_name, transport_status
from cargotime.domain import Location
from cargotime.templatetags.cargotime_admin import number
from tests.cargos import make_user

BASE_DIR = Path(settings.BASE_DIR)
PACKAGE = BASE_DIR / "cargotime"
MESSAGES = PACKAGE / "locale" / "de" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"
GETTEXT_TOOLS = ("msgfmt", "msgcmp", "msgattrib", "xgettext", "msgmerge")


def gettext_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [name, *args], capture_output=True, text=True, check=False, timeout=120
    )


class TestGermanCatalogue(TestCase):
    def setUp(self) -> None:
        missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
        if missing:
            self.fail(
                f"The translation tests need GNU gettext ({', '.join(missing)} "
                "missing): run `apt-get install -y gettext` (.ci/run does this)."
            )

    def test_every_message_has_a_german_translation(self) -> None:
        # Untranslated (empty) and fuzzy entries: none.
        for flag in ("--untranslated", "--only-fuzzy"):
            result = gettext_tool("msgattrib", flag, "--no-obsolete", str(PO))
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == "", f"{flag} entries:\n{result.stdout}"
        result = gettext_tool(
            "msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO)
        )
        assert result.returncode == 0, result.stderr
        assert "untranslated" not in result.stderr, result.stderr
        assert "fuzzy" not in result.stderr, result.stderr

    def test_the_catalogue_holds_every_message_of_the_code(self) -> None:
        # makemessages on a copy of the package, from scratch: what the code marks.
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "cargotime"
            shutil.copytree(
                PACKAGE,
                copy,
                ignore=shutil.ignore_patterns("__pycache__", "*.po", "*.mo"),
            )
            environment = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "PYTHONPATH": str(BASE_DIR),
            }
            result = subprocess.run(
                [
                    sys.executable,
                    str(BASE_DIR / "manage.py"),
                    "makemessages",
                    "--locale",
                    "de",
                    "--no-obsolete",
                ],
                cwd=copy,
                env=environment,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            assert result.returncode == 0, result.stderr
            fresh = copy / "locale" / "de" / "LC_MESSAGES" / "django.po"
            assert fresh.is_file(), result.stdout
            # Each message the code has, translated in the committed catalogue.
            result = gettext_tool("msgcmp", str(PO), str(fresh))
            assert result.returncode == 0, (
                "cargotime/locale/de/LC_MESSAGES/django.po lacks messages of the "
                "code: run `python ../manage.py makemessages -l de` in cargotime/, "
                f"translate, then compilemessages.\n{result.stderr}"
            )
            # And no message that the code no longer has.
            result = gettext_tool("msgcmp", "--use-untranslated", str(fresh), str(PO))
            assert result.returncode == 0, (
                f"The catalogue holds messages the code no longer has:\n{result.stderr}"
            )

    def test_the_compiled_catalogue_matches_its_source(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            compiled = Path(folder) / "django.mo"
            result = gettext_tool(
                "msgfmt", "--check-format", "-o", str(compiled), str(PO)
            )
            assert result.returncode == 0, result.stderr
            with compiled.open("rb") as fresh, MO.open("rb") as committed:
                expected = gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]
                shipped = gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]
        assert shipped == expected, (
            "django.mo is older than django.po: run compilemessages in cargotime/."
        )


class TestGermanWords(TestCase):
    def test_places_statuses_and_counts_in_german(self) -> None:
        with translation.override("de"):
            assert place_name(Location.HONGKONG) == "Hongkong (HONGKONG)"
            assert place_name(Location.TOKYO) == "Tokio (TOKYO)"
            assert transport_status("ONBOARD_CARRIER") == "An Bord"
            assert number(12345) == "12.345"
        with translation.override("en"):
            assert number(12345) == "12,345"


@override_settings(TIME_ZONE="UTC")
class TestGermanAdmin(DjangoTestCase):
    def test_accept_language_de_gives_the_german_admin(self) -> None:
        make_user("clerk", history=True)
        client = Client(HTTP_ACCEPT_LANGUAGE="de")
        client.login(username="clerk", password="secret")
        response = client.get(reverse("admin:cargotime_time_travel"))
        assert response.status_code == 200
        html = response.content.decode()
        assert '<html lang="de"' in html
        assert "Sendung auswählen" in html
        assert "Zeitreise" in html
        response = client.get(reverse("admin:cargotime_fleet"))
        assert response.status_code == 200
        assert '<html lang="de"' in response.content.decode()
        assert "Flotte" in response.content.decode()
