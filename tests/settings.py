"""Settings of the test suite: the demo project's, plus a second database."""

from __future__ import annotations

import os
from copy import deepcopy

import dj_database_url

# The project refuses to start without a secret key; the tests need no real one.
os.environ.setdefault("DJANGO_SECRET_KEY", "cargotime-tests-only-" + "x" * 50)

from project.settings import *  # noqa: E402, F403
from project.settings import BASE_DIR, DATABASES, STORAGES  # noqa: E402

TEST_RUNNER = "tests.runner.CargotimeTestRunner"

# Lets two runs share a machine without sharing test databases.
_suffix = os.environ.get("CARGOTIME_TEST_DB_SUFFIX", "")

_default = DATABASES["default"]
if _default["ENGINE"] == "django.db.backends.sqlite3":
    # Files, not memory: the recorder tests write from several threads.
    _default["TEST"] = {"NAME": str(BASE_DIR / f"test-default{_suffix}.sqlite3")}
    _secondary = deepcopy(_default)
    _secondary["NAME"] = str(BASE_DIR / "secondary.sqlite3")
    _secondary["TEST"] = {"NAME": str(BASE_DIR / f"test-secondary{_suffix}.sqlite3")}
else:
    _default["TEST"] = {"NAME": f"test_{_default['NAME']}{_suffix}"}
    _secondary = deepcopy(_default)
    _secondary["NAME"] = f"{_default['NAME']}_secondary"
    _secondary["TEST"] = {"NAME": f"test_{_default['NAME']}_secondary{_suffix}"}

# A second database, to show the application can live outside "default".
DATABASES["secondary"] = _secondary

# The primary that `.ci/replica` starts with a streaming replica beside it: its test
# database, created here, reaches the replica by replication. The replica is no alias
# of these settings, for no test database can be created on it: the read-replica tests
# add it while they run (tests/test_read_replica.py).
PRIMARY_URL = os.environ.get("CARGOTIME_PRIMARY_URL", "")
REPLICA_URL = os.environ.get("CARGOTIME_REPLICA_URL", "")
if PRIMARY_URL and REPLICA_URL and _default["ENGINE"].endswith("postgresql"):
    DATABASES["primary"] = dj_database_url.parse(PRIMARY_URL)
    DATABASES["primary"]["TEST"] = {"NAME": f"test_cargotime_replica{_suffix}"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The production settings of the project, but plain http and no collectstatic needed:
# WhiteNoise serves from the apps' static folders, as in development.
SECURE_SSL_REDIRECT = False
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
