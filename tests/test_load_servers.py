"""The HTTP load's servers: its own database comes and goes; gunicorn never lingers."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from unittest import SkipTest

import pytest
from django.db import connection
from django.test import SimpleTestCase, TransactionTestCase

from tests.load_servers import create_database, database_url, drop_database, gunicorn


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class DatabaseUrlTests(SimpleTestCase):
    def test_the_database_is_replaced_and_the_rest_kept(self) -> None:
        url = "postgres://cargotime:secret@127.0.0.1:5433/cargotime?sslmode=disable"
        assert database_url(url, "cargotime_load_x") == (
            "postgres://cargotime:secret@127.0.0.1:5433/cargotime_load_x?sslmode=disable"
        )


class OwnDatabaseTests(TransactionTestCase):
    def test_the_load_creates_its_database_afresh_and_drops_it(self) -> None:
        if connection.vendor != "postgresql":
            raise SkipTest("The load's own database lives on PostgreSQL.")
        db = connection.settings_dict
        server = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
            f"{db['NAME']}"
        )
        name = f"{db['NAME']}_own"

        def exists() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                return cursor.fetchone() is not None

        self.addCleanup(drop_database, server, name)
        create_database(server, name)
        assert exists()
        # Again over one left behind, as after a run that was killed.
        create_database(server, name)
        assert exists()
        drop_database(server, name)
        assert not exists()
        drop_database(server, name)


@pytest.mark.e2e
class GunicornTests(SimpleTestCase):
    def test_a_failing_load_still_stops_gunicorn_and_every_worker(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        log = Path(folder.name) / "gunicorn.log"
        environ = {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{folder.name}/db.sqlite3",
        }
        with (
            self.assertRaisesMessage(RuntimeError, "the load failed"),
            gunicorn(2, environ, log) as address,
        ):
            assert re.fullmatch(r"127\.0\.0\.1:\d+", address)
            raise RuntimeError("the load failed")
        text = log.read_text()
        pids = [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", text)]
        master = re.search(r"Listening at: \S+ \((\d+)\)", text)
        assert master
        assert len(pids) == 2
        # A worker leaves the process table a moment after its master has gone.
        for _ in range(100):
            if not any(alive(pid) for pid in pids):
                break
            time.sleep(0.1)
        assert [pid for pid in pids if alive(pid)] == []
        assert not alive(int(master[1]))
