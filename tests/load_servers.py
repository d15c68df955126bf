"""The servers of the HTTP load: a database of its own, and gunicorn serving it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# How long a server may take to start, or to catch up.
GRACE = 60.0


def database_url(server_url: str, name: str) -> str:
    """Return *server_url* with its database replaced by *name*."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def maintenance(server_url: str) -> psycopg.Connection[Any]:
    """Connect to the server's maintenance database, outside any transaction."""
    return psycopg.connect(database_url(server_url, "postgres"), autocommit=True)


def create_database(server_url: str, name: str) -> None:
    """Create the database *name* afresh on the server at *server_url*."""
    drop_database(server_url, name)
    with maintenance(server_url) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server_url: str, name: str) -> None:
    """Drop the database *name*, ending whatever sessions it still has."""
    with maintenance(server_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def scans(server_url: str, name: str) -> int:
    """Return how many table and index scans the server has run in database *name*."""
    # The tables' own counters: the replica's health checks read none of them.
    with psycopg.connect(database_url(server_url, name)) as connection:
        row = connection.execute(
            "SELECT sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)) "
            "FROM pg_stat_user_tables"
        ).fetchone()
    return int(row[0] or 0) if row else 0


def wait_for_schema(server_url: str, name: str) -> None:
    """Wait until the replica has replayed the migrated schema of database *name*."""
    deadline = time.monotonic() + GRACE
    while True:
        try:
            with psycopg.connect(database_url(server_url, name)) as connection:
                row = connection.execute(
                    "SELECT to_regclass('cargotime_eventtimestamp')"
                ).fetchone()
                if row and row[0]:
                    return
        except psycopg.OperationalError:
            pass  # The database itself is not there yet.
        if time.monotonic() > deadline:
            msg = f"The replica has no migrated {name} after {GRACE:.0f} s."
            raise RuntimeError(msg)
        time.sleep(0.2)


@contextmanager
def gunicorn(workers: int, environ: dict[str, str], log: Path) -> Iterator[str]:
    """Serve project.wsgi with *workers* workers; yield its address, then stop it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "project.wsgi",
                f"--workers={workers}",
                "--bind=127.0.0.1:0",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env={**os.environ, **environ},
            stdout=output,
            stderr=output,
            # A group of its own: stopping it stops every worker, whatever happens here.
            process_group=0,
        )
    try:
        yield wait_for_workers(server, workers, log)
    finally:
        stop(server)


def wait_for_workers(server: subprocess.Popen[bytes], workers: int, log: Path) -> str:
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        text = log.read_text()
        address = re.search(r"Listening at: http://(\S+)", text)
        if address and text.count("Booting worker") >= workers:
            return address[1]
        if server.poll() is not None:
            break
        time.sleep(0.1)
    tail = "\n".join(log.read_text().splitlines()[-20:])
    msg = f"gunicorn did not start {workers} workers; {log} ends:\n{tail}"
    raise RuntimeError(msg)


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its workers: politely, then not."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            continue
        # The master is gone; leave no worker of its group behind either.
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        return
