"""Make sure the demo has a staff login, creating one the first time only."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser from DJANGO_SUPERUSER_USERNAME, _PASSWORD and _EMAIL, "
        "or 'admin' with a generated password, unless one exists already."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()._default_manager
        existing = users.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            self.stdout.write(f"Log in as superuser {existing.get_username()!r}.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email=email, password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created superuser {username!r} with password {password!r}. "
                    "It is shown only this once."
                )
            )
        else:
            self.stdout.write(f"Created superuser {username!r} from the environment.")
