"""A test runner that lets go of every connection before the databases are dropped."""

from __future__ import annotations

import gc
import threading
from typing import Any

from django.db import connections
from django.test.runner import DiscoverRunner


def release_lingering_connections() -> None:
    """Close the connections that finished threads left behind in reference cycles."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(timeout=10)
    gc.collect()
    connections.close_all()


class CargotimeTestRunner(DiscoverRunner):
    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        release_lingering_connections()
        super().teardown_databases(old_config, **kwargs)
