"""`make load` in small: gunicorn, clients and writers for seconds, all checked."""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import SkipTest

import pytest
from django.db import connection
from django.test import SimpleTestCase, TransactionTestCase

from tests.load_http import (
    LOGS,
    Knowledge,
    ModeResult,
    ask,
    plans,
    table,
    wait_for_result,
)
from tests.load_replay import Committed
from tests.load_servers import ROOT
from tests.processes import SPAWN

BOOKED = datetime(2025, 3, 1, 12, tzinfo=UTC)


def server_url() -> str:
    """Return the URL of the PostgreSQL server the suite runs on."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
        f"{db['NAME']}"
    )


def run_load(*options: str) -> dict[str, list[str]]:
    """Run the load for two seconds a mode; return its table's rows by mode."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.load_http",
            "--seconds=2",
            "--clients=4",
            "--writers=2",
            "--workers=2",
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every answer matches the replay; nothing lost" in run.stdout
    rows = re.findall(r"^\s*(primary|replica) \|(.*)$", run.stdout, re.MULTILINE)
    return {
        mode: [cell.strip().replace(",", "") for cell in cells.split("|")]
        for mode, cells in rows
    }


@pytest.mark.e2e
class LoadHttpTests(TransactionTestCase):
    def setUp(self) -> None:
        if connection.vendor != "postgresql":
            raise SkipTest("The load runs gunicorn on PostgreSQL.")

    def assert_checked(self, row: list[str]) -> None:
        requests, _, _, _, _, events, _, _, mismatches, lost = row
        assert int(requests) > 0
        assert int(events) > 0
        assert (mismatches, lost) == ("0", "0")

    def test_a_short_load_checks_every_answer_and_cleans_up(self) -> None:
        rows = run_load(f"--database-url={server_url()}")
        assert list(rows) == ["primary"]
        self.assert_checked(rows["primary"])
        # gunicorn stopped, and the load's database is gone.
        log = (LOGS / "primary-gunicorn.log").read_text()
        assert "Shutting down: Master" in log
        suffix = os.environ.get("CARGOTIME_TEST_DB_SUFFIX", "")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s",
                [f"cargotime_load{suffix}"],
            )
            assert cursor.fetchone() == (0,)

    def test_with_the_replica_the_replica_serves_reads_and_every_answer_checks(
        self,
    ) -> None:
        servers = {
            name: os.environ.get(name, "")
            for name in ("CARGOTIME_PRIMARY_URL", "CARGOTIME_REPLICA_URL")
        }
        if not all(servers.values()):
            raise SkipTest("No replica: `make test-postgres` starts one.")
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        env_file = Path(folder.name) / "replica.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in servers.items()))
        rows = run_load(f"--replica-env={env_file}")
        assert list(rows) == ["primary", "replica"]
        for row in rows.values():
            self.assert_checked(row)


class QuestionTests(SimpleTestCase):
    known = {1: BOOKED, 2: BOOKED + timedelta(seconds=1), 3: BOOKED + timedelta(2)}

    def test_each_question_knows_the_latest_version_committed_by_its_instant(
        self,
    ) -> None:
        rng = random.Random(5)
        now = BOOKED + timedelta(days=3)
        kinds = set()
        for _ in range(400):
            question = ask(rng, "id", self.known, now)
            if question.at is None:
                kinds.add("version")
                assert question.known == question.version
                continue
            seen = [v for v, when in self.known.items() if when <= question.at]
            assert question.known == max(seen, default=0)
            if question.at == now:
                kinds.add("now")
            elif question.at < BOOKED:
                kinds.add("before")
            elif question.at in self.known.values():
                kinds.add("at an event")
            else:
                kinds.add("in its past")
        assert kinds == {"version", "now", "before", "at an event", "in its past"}

    def test_knowledge_keeps_every_committed_event_by_cargo(self) -> None:
        knowledge = Knowledge()
        assert knowledge.pick(random.Random(1)) is None
        events = [Committed("a", v, BOOKED, "X") for v in (2, 1)]
        for event in events:
            knowledge.learn(event)
        assert knowledge.pick(random.Random(1)) == ("a", {1: BOOKED, 2: BOOKED})
        assert knowledge.committed == events

    def test_the_table_has_a_row_a_mode(self) -> None:
        result = ModeResult("primary", seconds=2.0, events=10, conflicts=1)
        result.latencies = [0.010, 0.020, 0.030, 0.040]
        result.mismatches = ["wrong"]
        lines = table([result]).splitlines()
        assert lines[0].split(" | ")[0].strip() == "mode"
        cells = [cell.strip() for cell in lines[2].split("|")]
        assert cells[:3] == ["primary", "4", "2"]
        assert cells[6:] == ["10", "5", "1", "1", "0"]
        assert result.failed


class CommandLineTests(SimpleTestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.env_file = Path(folder.name) / "replica.env"
        self.env_file.write_text(
            "CARGOTIME_PRIMARY_URL=postgres://u:p@127.0.0.1:5501/cargotime\n"
            "CARGOTIME_REPLICA_URL=postgres://u:p@127.0.0.1:5502/cargotime\n"
        )

    def test_without_a_replica_one_mode_on_the_given_server(self) -> None:
        (plan,) = plans(["--database-url=postgres://u:p@db:5432/x", "--seconds=3"])
        assert (plan.mode, plan.primary_url, plan.replica_url) == (
            "primary",
            "postgres://u:p@db:5432/x",
            None,
        )
        assert (plan.seconds, plan.clients, plan.writers, plan.workers) == (3, 16, 4, 4)

    def test_with_a_replica_both_modes_write_to_its_primary(self) -> None:
        without, with_replica = plans([f"--replica-env={self.env_file}"])
        assert without.primary_url == with_replica.primary_url
        assert without.primary_url.endswith(":5501/cargotime")
        assert without.replica_url is None
        assert with_replica.replica_url == "postgres://u:p@127.0.0.1:5502/cargotime"

    def test_bad_input_is_refused_with_a_message(self) -> None:
        self.env_file.write_text("CARGOTIME_PRIMARY_URL=postgres://u:p@h/cargotime\n")
        for argv, message in [
            (["--seconds=0"], "above zero"),
            (["--clients=many"], "above zero"),
            ([f"--replica-env={self.env_file}x"], "does not exist"),
            ([f"--replica-env={self.env_file}"], "names no CARGOTIME_PRIMARY_URL"),
        ]:
            with (
                self.subTest(argv=argv),
                redirect_stderr(io.StringIO()) as stderr,
                self.assertRaises(SystemExit),
            ):
                plans(argv)
            assert message in stderr.getvalue()


class ModeProcessTests(SimpleTestCase):
    def test_a_mode_that_dies_without_a_word_fails_at_once(self) -> None:
        process = SPAWN.Process(target=os._exit, args=(3,), name="replica")
        process.start()
        self.addCleanup(process.join)
        result = wait_for_result(process, SPAWN.Queue(), 600)
        assert result.mode == "replica"
        assert result.errors == ["the mode never reported (exit code 3)"]
        assert result.failed
