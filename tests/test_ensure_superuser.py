from __future__ import annotations

import os
import re
from io import StringIO
from unittest import mock

from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import TestCase


def ensure_superuser(**environ: str) -> str:
    out = StringIO()
    kept = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SUPERUSER_")
    }
    with mock.patch.dict("os.environ", {**kept, **environ}, clear=True):
        call_command("ensure_superuser", stdout=out)
    return out.getvalue()


class EnsureSuperuserTests(TestCase):
    def test_generates_a_password_once(self) -> None:
        output = ensure_superuser()
        match = re.search(r"superuser 'admin' with password '([^']+)'", output)
        assert match is not None, output
        user = authenticate(username="admin", password=match.group(1))
        assert user is not None
        assert user.is_staff
        assert user.is_superuser

        again = ensure_superuser()
        assert "password" not in again
        assert "Log in as superuser 'admin'." in again
        assert get_user_model().objects.count() == 1

    def test_takes_the_login_from_the_environment(self) -> None:
        output = ensure_superuser(
            DJANGO_SUPERUSER_USERNAME="ops",
            DJANGO_SUPERUSER_PASSWORD="a long pass phrase",
            DJANGO_SUPERUSER_EMAIL="ops@example.com",
        )
        assert "from the environment" in output
        assert "a long pass phrase" not in output
        user = authenticate(username="ops", password="a long pass phrase")
        assert user is not None
        assert user.email == "ops@example.com"
