"""Every Python block of README.md runs as written, and does what the README says."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from django.core import checks
from django.test import TestCase, override_settings

from cargotime import conf
from cargotime.apps import get_application
from cargotime.domain import Location
from cargotime.models import EventTimestamp
from tests import minimal_settings
from tests.helpers import ROOT

README = ROOT / "README.md"
# A fenced block, indented as a list item's may be; it ends at a fence of its indent.
FENCE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<language>\w*)\n(?P<body>.*?)^(?P=indent)```[ ]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    source: str


def readme_blocks(language: str) -> list[Block]:
    """Return the README's fenced blocks of *language*, dedented, with their lines."""
    text = README.read_text(encoding="utf-8")
    return [
        Block(
            line=text.count("\n", 0, found.start()) + 1,
            language=found["language"],
            source=textwrap.dedent(found["body"]),
        )
        for found in FENCE.finditer(text)
        if found["language"] == language
    ]


def run(block: Block) -> dict[str, Any]:
    """Run *block* as a module of its own and return what it bound."""
    namespace: dict[str, Any] = {"__name__": "readme"}
    code = compile(block.source, f"README.md, block at line {block.line}", "exec")
    exec(code, namespace)
    return namespace


class ReadmeTests(TestCase):
    def test_every_python_block_is_found(self) -> None:
        # What the pattern misses would go untested: count the fences themselves.
        text = README.read_text(encoding="utf-8")
        blocks = readme_blocks("python")
        assert len(blocks) == text.count("```python\n")
        assert len(blocks) >= 4

    def test_every_python_block_runs_as_written_and_does_what_it_says(self) -> None:
        # The import example reads history.jsonl: the README's JSON lines, as shown.
        [history] = readme_blocks("json")
        checks_by_name: dict[str, Callable[[dict[str, Any]], None]] = {
            "INSTALLED_APPS": self.check_installed_apps,
            "CARGOTIME": self.check_cargotime_settings,
            "cargo": self.check_time_travel,
            "summary": self.check_import,
            "every_one": self.check_fleet,
            "DATABASES": self.check_deployment_settings,
        }
        with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
            Path("history.jsonl").write_text(history.source, encoding="utf-8")
            for block in readme_blocks("python"):
                with self.subTest(line=block.line):
                    printed = io.StringIO()
                    with contextlib.redirect_stdout(printed):
                        namespace = run(block)
                    namespace["printed"] = printed.getvalue()
                    found = [name for name in checks_by_name if name in namespace]
                    if "DATABASES" in namespace:
                        # A deployment's settings: their CARGOTIME names a replica.
                        found = ["DATABASES"]
                    assert len(found) == 1, (
                        f"README.md line {block.line}: give the block a check here "
                        f"(it binds {sorted(namespace)})"
                    )
                    checks_by_name[found[0]](namespace)

    def check_installed_apps(self, namespace: dict[str, Any]) -> None:
        # A settings.py fragment, with "..." for the project's own apps. Without them it
        # is the minimal project's list, which tests/test_reusable.py checks.
        apps = namespace["INSTALLED_APPS"]
        assert apps.count(Ellipsis) == 1
        assert [app for app in apps if app is not Ellipsis] == (
            minimal_settings.INSTALLED_APPS
        )
        assert namespace["USE_TZ"] is True

    def check_cargotime_settings(self, namespace: dict[str, Any]) -> None:
        # The README says this dict holds the defaults: it must be them, and be valid.
        assert namespace["CARGOTIME"] == dict(conf.DEFAULTS)
        with override_settings(CARGOTIME=namespace["CARGOTIME"]):
            messages = [
                message
                for message in checks.run_checks()
                if str(message.id).startswith("cargotime.")
            ]
        assert messages == []

    def check_deployment_settings(self, namespace: dict[str, Any]) -> None:
        # Settings for servers elsewhere (a replica, a pooler): cargotime's checks
        # find nothing wrong with them, and they say what the README says they do.
        databases = namespace["DATABASES"]
        options = namespace.get("CARGOTIME", {})
        assert all(
            database["ENGINE"] == "django.db.backends.postgresql"
            for database in databases.values()
        )
        read = options.get("READ_DATABASE_ALIAS")
        if read is not None:
            assert read in databases and read != "default"
            assert databases[read]["NAME"] == databases["default"]["NAME"]
            assert databases[read]["HOST"] != databases["default"]["HOST"]
        else:
            pooled = databases["default"]
            assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
            assert pooled["OPTIONS"]["prepare_threshold"] is None
        with warnings.catch_warnings():
            # Django warns that overriding DATABASES leaves open connections as they
            # are; the checks read only the settings.
            warnings.simplefilter("ignore")
            with override_settings(DATABASES=databases, CARGOTIME=options):
                messages = [
                    message
                    for message in checks.run_checks()
                    if str(message.id).startswith("cargotime.")
                ]
        assert messages == []

    def check_time_travel(self, namespace: dict[str, Any]) -> None:
        # The block asserts the destinations itself; the version says which event.
        cargo = namespace["cargo"]
        assert cargo.version == 1
        assert cargo.created_on == namespace["booked_at"]
        assert namespace["app"].get_cargo(namespace["tracking_id"]).version == 2

    def check_fleet(self, namespace: dict[str, Any]) -> None:
        # The blocks above booked cargos: the fleet now is every one of them.
        counts = namespace["counts"]
        booked = EventTimestamp.objects.filter(originator_version=1).count()
        assert booked >= 1
        assert counts.count == booked
        assert sum(counts.transport_status.values()) == booked
        assert all(c.transport_status == "IN_PORT" for c in namespace["every_one"])
        assert namespace["page"].cargos == namespace["every_one"][:50]

    def check_import(self, namespace: dict[str, Any]) -> None:
        [history] = readme_blocks("json")
        summary = namespace["summary"]
        tracking_id = UUID("5f0b6c3e-8a1d-4e2f-9b7c-2d4e6f8a0b1c")
        assert summary.events == len(history.source.splitlines()) == 4
        assert (summary.booked, summary.continued) == (1, 0)
        assert namespace["printed"] == "4 events: 1 booked, 0 continued\n"
        app = get_application()
        before_the_change = datetime(2024, 3, 2, 7, 0, tzinfo=UTC)
        assert app.get_cargo_at_timestamp(tracking_id, before_the_change).version == 3
        assert app.get_cargo(tracking_id).destination == Location.NEWYORK
