"""pytest's side of tests/runner.py: nothing here is a fixture the tests use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.runner import end_pooled_sessions, release_lingering_connections


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings: None, django_db_blocker: Any
) -> None:
    # Runs before the test databases are created.
    with django_db_blocker.unblock():
        end_pooled_sessions()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    yield
    # Behind a pooler this queries the server: let it, as the teardown does.
    with django_db_blocker.unblock():
        release_lingering_connections()
