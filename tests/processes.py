"""Start other Python processes on the test database, each with its own Django."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

# Spawned, never forked: a forked child would share the parent's open connections.
SPAWN: SpawnContext = multiprocessing.get_context("spawn")


def database_names() -> dict[str, str]:
    """Return the name of each database as this process sees it (in tests: test DBs)."""
    return {
        alias: str(connections[alias].settings_dict["NAME"]) for alias in connections
    }


def boot(settings_module: str, names: dict[str, str], debug: bool) -> None:
    """Set up Django in a child process, on the databases the parent uses."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    # Before the first connection: the child must reach the parent's test databases.
    for alias, name in names.items():
        settings.DATABASES[alias]["NAME"] = name
    # As the parent runs: the test runner turns DEBUG off.
    settings.DEBUG = debug
    django.setup()


def spawn(target: str, *args: Any) -> SpawnProcess:
    """Start the function at dotted path *target* in a new process, after Django."""
    process = SPAWN.Process(
        target=_run,
        args=(settings.SETTINGS_MODULE, database_names(), settings.DEBUG, target, args),
        daemon=True,
    )
    process.start()
    return process


def _run(
    settings_module: str,
    names: dict[str, str],
    debug: bool,
    target: str,
    args: tuple[Any, ...],
) -> None:
    boot(settings_module, names, debug)
    # Imported only now: a test module may import models, which need Django set up.
    function: Callable[..., None] = import_string(target)
    try:
        function(*args)
    finally:
        connections.close_all()
