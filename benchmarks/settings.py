"""Settings of the benchmarks: the demo project's, with one database per variant.

BENCH_DATABASE (sqlite or postgres) picks the engine; BENCH_DATA_DIR holds the SQLite
files. Every variant gets a database of its own, so that no variant's rows slow another.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from dj_database_url import DBConfig, parse

# The project refuses to start without a secret key; the benchmarks need no real one.
os.environ.setdefault("DJANGO_SECRET_KEY", "cargotime-benchmarks-only-" + "x" * 50)

from project.settings import *  # noqa: E402, F403
from project.settings import BASE_DIR, STORAGES  # noqa: E402

# Debug mode logs every query: that would measure Django's logging, not the recorders.
DEBUG = False
# The admin is measured over plain HTTP from the test client, with no collected files.
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["testserver"]
# The project's URLs, and the admin's floor beside them (benchmarks/urls.py).
ROOT_URLCONF = "benchmarks.urls"
warnings.filterwarnings("ignore", "No directory at", UserWarning)
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

ENGINE = os.environ.get("BENCH_DATABASE", "sqlite")
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", BASE_DIR / "build" / "bench"))
PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://cargotime:cargotime@127.0.0.1:5432/cargotime"
)
PG_PREFIX = os.environ.get("BENCH_POSTGRES_PREFIX", "cargotime_bench")

# default: cargotime (and the admin's users); the others are baselines and store sizes.
# fleet_small, fleet_large: the fleet's index and the peer's history (targets 8, 10);
# fleet_events: 10,000 cargos of real stored events (target 9).
ALIASES = (
    "default",
    "esdjango",
    "small",
    "large",
    "fleet_small",
    "fleet_large",
    "fleet_events",
)
# The peer of target 8, django-simple-history: a dependency of the benchmarks only.
INSTALLED_APPS = [*INSTALLED_APPS, "simple_history", "benchmarks.peer"]  # noqa: F405


def _database(alias: str) -> DBConfig:
    if ENGINE == "sqlite":
        return DBConfig(
            ENGINE="django.db.backends.sqlite3",
            NAME=str(DATA_DIR / f"{alias}.sqlite3"),
            # As the demo project: take the write lock up front.
            OPTIONS={"transaction_mode": "IMMEDIATE", "timeout": 20},
        )
    config = parse(PG_URL)
    config["NAME"] = f"{PG_PREFIX}_{alias}"
    return config


DATABASES = {alias: _database(alias) for alias in ALIASES}
for _config in DATABASES.values():
    # One connection for the whole run, as a pooled deployment keeps: the test
    # client would otherwise reconnect after every admin request.
    _config["CONN_MAX_AGE"] = None
