from __future__ import annotations

import os
import re
import runpy
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.templatetags.static import static
from django.test import Client, SimpleTestCase, TransactionTestCase, override_settings

from tests.helpers import ROOT, manage

# What a deployment sets; DATABASE_URL is passed on so PostgreSQL runs use PostgreSQL.
PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "cargo.example.com, 127.0.0.1",
}
# The variables the settings read: a test sets those it means, and none leak in from the
# run (the suite through PgBouncer sets DATABASE_POOLER, say).
DJANGO_VARIABLES = re.compile(r"^(DJANGO_|DATABASE_)")
# A view that fails, served by the production settings in a process of its own.
FAILING_VIEW = """
import sys, types
import django
from django.conf import settings
from django.test import Client
from django.urls import path

django.setup()

def fail(request):
    raise RuntimeError("the view failed on purpose")

urls = types.ModuleType("failing_urls")
urls.urlpatterns = [path("fail/", fail)]
sys.modules["failing_urls"] = urls
settings.ROOT_URLCONF = "failing_urls"
client = Client(raise_request_exception=False, headers={"host": "127.0.0.1"})
print(client.get("/fail/", secure=True).status_code)
"""


def clone(base: Path, env_file: str | None = None) -> Path:
    """Copy the demo project into *base*, with *env_file* as its .env."""
    shutil.copy(ROOT / "manage.py", base / "manage.py")
    shutil.copy(ROOT / "Makefile", base / "Makefile")
    shutil.copytree(
        ROOT / "project",
        base / "project",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    if env_file is not None:
        (base / ".env").write_text(env_file, encoding="utf-8")
    return base


def project_settings(env_file: str | None = None, **environ: str) -> dict[str, Any]:
    """Run project/settings.py afresh, with *env_file* as its .env, in *environ*."""
    # In a folder of its own: a .env that `make run` wrote here must not count.
    clean = {k: v for k, v in os.environ.items() if not DJANGO_VARIABLES.match(k)}
    with (
        tempfile.TemporaryDirectory() as base,
        mock.patch.dict(os.environ, {**clean, **environ}, clear=True),
    ):
        settings_py = clone(Path(base), env_file) / "project" / "settings.py"
        return runpy.run_path(str(settings_py))


def manage_in(
    base: Path, *args: str, environ: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run manage.py of the clone at *base*, in *environ* and its own SQLite file."""
    clean = {k: v for k, v in os.environ.items() if not DJANGO_VARIABLES.match(k)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=base,
        # The clone's project/ comes first on the path (its folder); cargotime, ROOT's.
        env={
            **clean,
            "PYTHONPATH": str(ROOT),
            # SQLite: no pooler in front of it either.
            "DATABASE_URL": "",
            "DATABASE_POOLER": "",
            **environ,
        },
        capture_output=True,
        text=True,
        check=False,
    )


PRIMARY_URL = "postgres://cargotime:secret@db.internal:5432/cargotime"
REPLICA_URL = "postgres://cargotime:secret@db-replica.internal:5432/cargotime"


class ProjectSettingsTests(SimpleTestCase):
    def test_without_a_secret_key_production_refuses_to_start(self) -> None:
        with self.assertRaisesMessage(
            ImproperlyConfigured, "DJANGO_SECRET_KEY is not set"
        ):
            project_settings()

    def test_a_secret_key_of_whitespace_is_refused(self) -> None:
        for key in (" ", "\t\n  "):
            with (
                self.subTest(key=key),
                self.assertRaisesMessage(
                    ImproperlyConfigured, "DJANGO_SECRET_KEY is only whitespace"
                ),
            ):
                project_settings(DJANGO_SECRET_KEY=key)
        with self.assertRaisesMessage(
            ImproperlyConfigured, "DJANGO_SECRET_KEY is only whitespace"
        ):
            project_settings("DJANGO_SECRET_KEY='   '\n")

    def test_manage_py_says_why_it_refuses(self) -> None:
        with tempfile.TemporaryDirectory() as base:
            result = manage_in(clone(Path(base)), "check", environ={})
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY is not set" in result.stderr
        assert "make run" in result.stderr

    def test_production_is_the_default(self) -> None:
        values = project_settings(**PRODUCTION)
        assert values["DEBUG"] is False
        assert values["SECRET_KEY"] == PRODUCTION["DJANGO_SECRET_KEY"]
        assert values["ALLOWED_HOSTS"] == ["cargo.example.com", "127.0.0.1"]
        assert values["SECURE_SSL_REDIRECT"] is True
        assert values["SESSION_COOKIE_SECURE"] is True
        assert values["CSRF_COOKIE_SECURE"] is True
        assert values["SECURE_HSTS_SECONDS"] == 3600
        # Django's defaults: whether every subdomain is HTTPS is the deployer's call.
        assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
        assert values["SECURE_HSTS_PRELOAD"] is False
        assert values["STORAGES"]["staticfiles"]["BACKEND"] == (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
        assert "SECURE_PROXY_SSL_HEADER" not in values

    def test_development_mode_needs_no_secret_key(self) -> None:
        values = project_settings(DJANGO_DEBUG="1")
        assert values["DEBUG"] is True
        assert values["SECRET_KEY"].startswith("django-insecure-")
        assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
        assert "SECURE_SSL_REDIRECT" not in values

    def test_an_empty_database_url_means_the_sqlite_default(self) -> None:
        # The suite itself may run with DATABASE_URL set: unset it for the first case.
        with mock.patch.dict(os.environ):
            os.environ.pop("DATABASE_URL", None)
            os.environ.pop("DATABASE_POOLER", None)
            unset = project_settings(DJANGO_DEBUG="1")["DATABASES"]["default"]
        empty = project_settings(DJANGO_DEBUG="1", DATABASE_URL="", DATABASE_POOLER="")
        for database in (unset, empty["DATABASES"]["default"]):
            assert database["ENGINE"] == "django.db.backends.sqlite3"
            assert str(database["NAME"]).endswith("db.sqlite3")
        postgres = project_settings(
            DJANGO_DEBUG="1", DATABASE_URL="postgres://u:p@db.example:5432/cargo"
        )["DATABASES"]["default"]
        assert postgres["ENGINE"] == "django.db.backends.postgresql"
        assert postgres["NAME"] == "cargo"

    def test_the_environment_tunes_https(self) -> None:
        values = project_settings(
            **PRODUCTION,
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_SECURE_HSTS_SECONDS="31536000",
            DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
            DJANGO_SECURE_HSTS_PRELOAD="true",
            DJANGO_SECURE_PROXY_SSL_HEADER="true",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://cargo.example.com",
        )
        assert values["SECURE_SSL_REDIRECT"] is False
        assert values["SECURE_HSTS_SECONDS"] == 31536000
        assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
        assert values["SECURE_HSTS_PRELOAD"] is True
        assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
        assert values["CSRF_TRUSTED_ORIGINS"] == ["https://cargo.example.com"]

    def test_malformed_values_are_named(self) -> None:
        for name, value, message in [
            ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be 1 or 0"),
            ("DJANGO_SECURE_HSTS_SECONDS", "a year", "must be a whole number"),
            ("DATABASE_CONN_MAX_AGE", "forever", "must be a whole number"),
            ("DATABASE_CONN_MAX_AGE", "-1", "must be 0 or more seconds"),
        ]:
            with (
                self.subTest(name=name),
                self.assertRaisesMessage(ImproperlyConfigured, message),
            ):
                project_settings(**PRODUCTION, **{name: value})

    def test_a_database_url_that_is_no_url_is_refused_without_a_traceback(
        self,
    ) -> None:
        for url in ["db.internal", "postgres://u:s3cret@db.internal:port/c"]:
            with (
                self.subTest(url=url),
                self.assertRaisesMessage(
                    ImproperlyConfigured, "DATABASE_URL is no database URL"
                ) as refused,
            ):
                project_settings(**PRODUCTION, DATABASE_URL=url)
            assert "s3cret" not in str(refused.exception)

    def test_connections_are_kept_when_asked(self) -> None:
        for age, kept, checked in [(None, 0, False), ("60", 60, True), ("0", 0, False)]:
            environ = {**PRODUCTION, "DATABASE_REPLICA_URL": REPLICA_URL}
            environ["DATABASE_URL"] = PRIMARY_URL
            if age is not None:
                environ["DATABASE_CONN_MAX_AGE"] = age
            with self.subTest(age=age):
                databases = project_settings(**environ)["DATABASES"]
                assert set(databases) == {"default", "replica"}
                for database in databases.values():
                    assert database["CONN_MAX_AGE"] == kept
                    assert database["CONN_HEALTH_CHECKS"] is checked

    def test_check_deploy_is_clean_in_production(self) -> None:
        # With the HSTS choices left at Django's defaults, and with both turned on.
        turned_on = {
            "DJANGO_SECURE_HSTS_SECONDS": "31536000",
            "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
            "DJANGO_SECURE_HSTS_PRELOAD": "1",
        }
        for environ in (PRODUCTION, {**PRODUCTION, **turned_on}):
            with self.subTest(environ=environ), tempfile.TemporaryDirectory() as base:
                result = manage_in(
                    clone(Path(base)),
                    *("check", "--deploy", "--fail-level", "WARNING"),
                    environ=environ,
                )
                assert result.returncode == 0, result.stderr
                assert "System check identified no issues" in result.stdout

    def test_https_responses_carry_hsts_for_the_host_alone(self) -> None:
        production = project_settings(**PRODUCTION)
        hsts = {k: v for k, v in production.items() if k.startswith("SECURE_HSTS_")}
        with override_settings(SECURE_SSL_REDIRECT=True, **hsts):
            assert Client().get("/admin/login/").status_code == 301
            response = Client().get("/admin/login/", secure=True)
        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == "max-age=3600"


@pytest.mark.e2e
class EnvFileTests(SimpleTestCase):
    """After `make run`, its .env makes every manage.py command of the clone work."""

    def test_make_run_writes_a_development_env_file_once(self) -> None:
        with tempfile.TemporaryDirectory() as temp:
            base = clone(Path(temp))
            venv = Path(sys.executable).parent.parent
            # The virtualenv is this one, and make must not reinstall it.
            make = ["make", "--no-print-directory", f"VENV={venv}"]
            make += ["-o", f"{venv}/.installed", ".env"]
            written = subprocess.run(make, cwd=base, capture_output=True, text=True)
            assert written.returncode == 0, written.stderr
            env_file = base / ".env"
            first = env_file.read_text(encoding="utf-8")
            assert env_file.stat().st_mode & 0o077 == 0  # Only its owner may read it.
            values = dict(line.split("=", 1) for line in first.splitlines())
            assert values.keys() == {"DJANGO_DEBUG", "DJANGO_SECRET_KEY"}
            assert values["DJANGO_DEBUG"] == "1"
            # Django's check --deploy knows this prefix for a key not fit to deploy.
            assert values["DJANGO_SECRET_KEY"].startswith("django-insecure-")
            assert len(values["DJANGO_SECRET_KEY"]) >= 50 + len("django-insecure-")

            again = subprocess.run(make, cwd=base, capture_output=True, text=True)
            assert again.returncode == 0, again.stderr
            assert env_file.read_text(encoding="utf-8") == first
            for args in (["check"], ["migrate", "--no-input"], ["changepassword"]):
                with self.subTest(args=args):
                    result = manage_in(base, *args, environ={})
                    assert "ImproperlyConfigured" not in result.stderr
                    assert "Traceback" not in result.stderr
            assert manage_in(base, "check", environ={}).returncode == 0

        with tempfile.TemporaryDirectory() as temp:
            other = clone(Path(temp))
            subprocess.run(make, cwd=other, capture_output=True, check=True)
            assert (other / ".env").read_text(encoding="utf-8") != first

    def test_settings_read_the_env_file(self) -> None:
        env_file = "\n".join(
            [
                "# Written by make run",
                "",
                "DJANGO_DEBUG=1",
                'DJANGO_SECRET_KEY = "a key from the file"',
                "DJANGO_TIME_ZONE='Europe/Berlin'",
            ]
        )
        values = project_settings(env_file)
        assert values["DEBUG"] is True
        assert values["SECRET_KEY"] == "a key from the file"
        assert values["TIME_ZONE"] == "Europe/Berlin"

    def test_the_environment_wins_over_the_env_file(self) -> None:
        env_file = "DJANGO_DEBUG=1\nDJANGO_SECRET_KEY=from-the-file\n"
        values = project_settings(env_file, **PRODUCTION, DJANGO_DEBUG="0")
        assert values["DEBUG"] is False
        assert values["SECRET_KEY"] == PRODUCTION["DJANGO_SECRET_KEY"]
        assert values["SECURE_SSL_REDIRECT"] is True

    def test_the_env_file_reaches_the_environment_of_what_runs_later(self) -> None:
        # As python-dotenv does: eventsourcing, say, reads CIPHER_KEY from os.environ.
        read = "import os; print(os.environ['EXAMPLE_TOKEN'])"
        with tempfile.TemporaryDirectory() as temp:
            base = clone(Path(temp), "DJANGO_DEBUG=1\nEXAMPLE_TOKEN=from-the-file\n")
            result = manage_in(base, "shell", "--no-imports", "-c", read, environ={})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "from-the-file"

    def test_a_malformed_line_is_named_by_its_number_only(self) -> None:
        with self.assertRaises(ImproperlyConfigured) as caught:
            project_settings("DJANGO_DEBUG=1\nexport DJANGO_SECRET_KEY s3cret\n")
        assert "line 2: expected KEY=VALUE" in str(caught.exception)
        assert "s3cret" not in str(caught.exception)

    def test_without_an_env_file_or_a_key_production_refuses_to_start(self) -> None:
        with self.assertRaisesMessage(
            ImproperlyConfigured, "DJANGO_SECRET_KEY is not set"
        ):
            project_settings("# DJANGO_SECRET_KEY=commented-out\n")

    def test_git_ignores_the_env_file(self) -> None:
        ignored = subprocess.run(
            ["git", "check-ignore", "--quiet", "--no-index", ".env"], cwd=ROOT
        )
        assert ignored.returncode == 0


@pytest.mark.e2e
class LoggingTests(SimpleTestCase):
    def test_a_server_error_writes_its_traceback_to_stderr(self) -> None:
        # Without DEBUG, Django's default logging would only mail ADMINS, who are none.
        clean = {k: v for k, v in os.environ.items() if not DJANGO_VARIABLES.match(k)}
        for debug in ("0", "1"):
            with self.subTest(debug=debug), tempfile.TemporaryDirectory() as temp:
                # Debug's error page may look up the user: give it a database.
                database = f"sqlite:///{Path(temp) / 'db.sqlite3'}"
                result = subprocess.run(
                    [sys.executable, "-c", FAILING_VIEW],
                    cwd=ROOT,
                    env={
                        **clean,
                        **PRODUCTION,
                        "DJANGO_DEBUG": debug,
                        "DATABASE_URL": database,
                        "DATABASE_POOLER": "",
                        "DJANGO_SETTINGS_MODULE": "project.settings",
                    },
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert result.returncode == 0, result.stderr
                assert result.stdout.strip() == "500"
                assert "ERROR django.request: Internal Server Error: /fail/" in (
                    result.stderr
                )
                assert result.stderr.count("Traceback (most recent call last)") == 1
                assert "RuntimeError: the view failed on purpose" in result.stderr


@pytest.mark.e2e
class StaticFilesTests(SimpleTestCase):
    def test_whitenoise_serves_admin_static_files_without_debug(self) -> None:
        production = project_settings(**PRODUCTION)["STORAGES"]
        with (
            tempfile.TemporaryDirectory() as root,
            override_settings(
                DEBUG=False,
                STATIC_ROOT=root,
                STORAGES=production,
                WHITENOISE_AUTOREFRESH=False,
            ),
        ):
            call_command("collectstatic", interactive=False, verbosity=0)
            hashed = static("admin/css/base.css")
            assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", hashed)
            response = Client().get(hashed)
            self.addCleanup(response.close)
            assert response.status_code == 200
            assert b"body" in b"".join(response.streaming_content)  # type: ignore[attr-defined]
            assert "immutable" in response["Cache-Control"]
            compressed = Client().get(hashed, headers={"accept-encoding": "gzip"})
            self.addCleanup(compressed.close)
            assert compressed["Content-Encoding"] == "gzip"
            assert Client().get("/static/admin/css/no-such.css").status_code == 404


@pytest.mark.e2e
class GunicornTests(TransactionTestCase):
    """The project as the README serves it: gunicorn workers, production settings."""

    def database_url(self) -> str:
        db = connection.settings_dict
        if connection.vendor == "sqlite":
            return f"sqlite:///{db['NAME']}"
        return (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
            f"{db['NAME']}"
        )

    def test_several_workers_serve_the_admin_and_its_static_files(self) -> None:
        user = get_user_model().objects.create_superuser("ops", password="x" * 12)
        client = Client()
        # Sessions are signed: sign this one with the key the server will use.
        with override_settings(SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"]):
            client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        root = tempfile.TemporaryDirectory()
        self.addCleanup(root.cleanup)
        environ = {
            **PRODUCTION,
            # Set, so that a .env that `make run` wrote here cannot turn debug on.
            "DJANGO_DEBUG": "0",
            "DATABASE_URL": self.database_url(),
            "DJANGO_STATIC_ROOT": root.name,
            "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
        }
        assert manage("collectstatic", "--no-input", environ=environ).returncode == 0
        clean = {k: v for k, v in os.environ.items() if not DJANGO_VARIABLES.match(k)}
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "project.wsgi",
                "--workers=2",
                "--bind=127.0.0.1:0",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env={**clean, "DJANGO_SETTINGS_MODULE": "project.settings", **environ},
            stderr=subprocess.PIPE,
            text=True,
        )
        assert server.stderr is not None
        # Cleanups run last first: stop the server, wait for it, close its pipe.
        self.addCleanup(server.stderr.close)
        self.addCleanup(server.wait, timeout=30)
        self.addCleanup(server.terminate)
        address = None
        booted = 0
        for line in server.stderr:
            if found := re.search(r"Listening at: (http://\S+)", line):
                address = found[1]
            booted += "Booting worker" in line
            if address and booted == 2:
                break
        assert address, "gunicorn did not start"

        def get(path: str) -> tuple[int, str]:
            request = urllib.request.Request(
                address + path,
                headers={
                    "X-Forwarded-Proto": "https",
                    "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}",
                },
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()

        for _ in range(4):  # Enough requests for both workers to answer some.
            status, page = get("/admin/")
            assert status == 200
            assert "Site administration" in page
        hashed = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
        assert hashed, "the admin links no hashed stylesheet"
        status, css = get(hashed[1])
        assert status == 200
        assert "body" in css
