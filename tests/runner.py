"""A test runner that lets go of every connection before the databases are dropped."""

from __future__ import annotations

import gc
import threading
from typing import Any

from django.conf import settings
from django.db import connections
from django.test.runner import DiscoverRunner


def release_lingering_connections() -> None:
    """Close the connections that finished threads left behind in reference cycles."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(timeout=10)
    gc.collect()
    connections.close_all()
    end_pooled_sessions()


def end_pooled_sessions() -> None:
    """End the sessions a transaction pooler keeps open on the test databases."""
    # The pooler keeps its server connections after ours closed (or after a run that
    # was cut short), and CREATE or DROP DATABASE refuse a database someone is
    # connected to. They are the test role's own, so the role may end them.
    if getattr(settings, "DATABASE_POOLER", "") != "transaction":
        return
    for connection in connections.all(initialized_only=False):
        if connection.vendor != "postgresql":
            continue
        # Django's own rule for the name, before and after the databases are set up.
        creation: Any = connection.creation
        with connection._nodb_cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [creation._get_test_db_name()],
            )


class CargotimeTestRunner(DiscoverRunner):
    def setup_databases(self, **kwargs: Any) -> Any:
        end_pooled_sessions()
        return super().setup_databases(**kwargs)

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        release_lingering_connections()
        super().teardown_databases(old_config, **kwargs)
