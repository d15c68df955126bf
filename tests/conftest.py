"""pytest's side of tests/runner.py: nothing here is a fixture the tests use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.runner import release_lingering_connections


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any) -> Iterator[None]:
    yield
    release_lingering_connections()
