from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.test import SimpleTestCase
from packaging.requirements import Requirement

# End to end: builds the wheel. `pytest -m "not e2e"` leaves it out.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def source_files() -> set[str]:
    """Return every file of the cargotime package, as paths inside a wheel."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "cargotime").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


class WheelTests(SimpleTestCase):
    """`pip install .` installs what the wheel holds: build one and look inside."""

    names: set[str]
    metadata: str

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        with tempfile.TemporaryDirectory() as temp:
            # Build from a copy, so that the build leaves nothing in the working tree.
            source = Path(temp) / "source"
            source.mkdir()
            for name in ("pyproject.toml", "README.md"):
                shutil.copy(ROOT / name, source / name)
            shutil.copytree(
                ROOT / "cargotime",
                source / "cargotime",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
                    *("--no-build-isolation", "--no-index"),
                    *("--wheel-dir", str(Path(temp) / "dist"), str(source)),
                ],
                check=True,
                capture_output=True,
            )
            [wheel] = (Path(temp) / "dist").glob("cargotime-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                cls.names = set(archive.namelist())
                [metadata] = [n for n in cls.names if n.endswith(".dist-info/METADATA")]
                cls.metadata = archive.read(metadata).decode()

    def test_the_wheel_holds_every_file_of_the_package(self) -> None:
        missing = source_files() - self.names
        assert not missing, f"not in the wheel: {sorted(missing)}"

    def test_the_wheel_holds_the_migrations_and_commands(self) -> None:
        for name in (
            "cargotime/migrations/0001_initial.py",
            "cargotime/management/commands/timestamp_index.py",
            "cargotime/management/commands/import_cargo_history.py",
        ):
            assert name in self.names

    def test_the_wheel_holds_the_templates(self) -> None:
        templates = {n for n in self.names if n.startswith("cargotime/templates/")}
        assert any(name.endswith(".html") for name in templates)

    def test_the_wheel_holds_the_german_catalogue(self) -> None:
        # The compiled .mo is what Django reads; the .po travels with it.
        for name in (
            "cargotime/locale/de/LC_MESSAGES/django.mo",
            "cargotime/locale/de/LC_MESSAGES/django.po",
        ):
            assert name in self.names, name

    def test_the_wheel_holds_only_the_app(self) -> None:
        top = {name.split("/")[0] for name in self.names}
        assert {t for t in top if not t.endswith(".dist-info")} == {"cargotime"}

    def test_the_wheel_requires_the_app_dependencies_and_no_extras(self) -> None:
        # A library leaves the psycopg build, its pool and the ciphers to the project.
        assert self.requirements("Requires-Dist") == requirements(
            "Django>=5.2,<5.3",
            "eventsourcing>=9.4,<9.5",
            "eventsourcing-django>=0.6,<0.7",
            'psycopg>=3.2,<4; extra == "postgres"',
        )

    def test_the_wheel_offers_a_postgres_extra_of_any_psycopg_build(self) -> None:
        message = email.message_from_string(self.metadata)
        assert message.get_all("Provides-Extra") == ["postgres"]
        [psycopg] = [
            Requirement(value)
            for value in message.get_all("Requires-Dist", [])
            if Requirement(value).name == "psycopg"
        ]
        assert psycopg.extras == set()

    def requirements(self, header: str) -> set[str]:
        """Return the requirements the metadata's *header* lists, normalized."""
        message = email.message_from_string(self.metadata)
        return requirements(*message.get_all(header, []))


def requirements(*lines: str) -> set[str]:
    """Return *lines* as packaging writes requirements, so spacing and order match."""
    return {str(Requirement(line)) for line in lines}
