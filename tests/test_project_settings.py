from __future__ import annotations

import os
import re
import runpy
import secrets
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from unittest import mock

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
DJANGO_VARIABLES = re.compile(r"^DJANGO_")


def project_settings(**environ: str) -> dict[str, Any]:
    """Run project/settings.py afresh in *environ* (and no other DJANGO_ variable)."""
    clean = {k: v for k, v in os.environ.items() if not DJANGO_VARIABLES.match(k)}
    with mock.patch.dict(os.environ, {**clean, **environ}, clear=True):
        return runpy.run_path(str(ROOT / "project" / "settings.py"))


class ProjectSettingsTests(SimpleTestCase):
    def test_without_a_secret_key_production_refuses_to_start(self) -> None:
        with self.assertRaisesMessage(
            ImproperlyConfigured, "DJANGO_SECRET_KEY is not set"
        ):
            project_settings()

    def test_manage_py_says_why_it_refuses(self) -> None:
        result = manage("check", environ={})
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
        assert values["SECURE_HSTS_SECONDS"] > 0
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
            unset = project_settings(DJANGO_DEBUG="1")["DATABASES"]["default"]
        empty = project_settings(DJANGO_DEBUG="1", DATABASE_URL="")
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
            DJANGO_SECURE_PROXY_SSL_HEADER="true",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://cargo.example.com",
        )
        assert values["SECURE_SSL_REDIRECT"] is False
        assert values["SECURE_HSTS_SECONDS"] == 31536000
        assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
        assert values["CSRF_TRUSTED_ORIGINS"] == ["https://cargo.example.com"]

    def test_malformed_values_are_named(self) -> None:
        for name, value, message in [
            ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be 1 or 0"),
            ("DJANGO_SECURE_HSTS_SECONDS", "a year", "must be a whole number"),
        ]:
            with (
                self.subTest(name=name),
                self.assertRaisesMessage(ImproperlyConfigured, message),
            ):
                project_settings(**PRODUCTION, **{name: value})

    def test_check_deploy_is_clean_in_production(self) -> None:
        result = manage(
            "check", "--deploy", "--fail-level", "WARNING", environ=PRODUCTION
        )
        assert result.returncode == 0, result.stderr
        assert "System check identified no issues (0 silenced)." in result.stdout


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
