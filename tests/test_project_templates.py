from __future__ import annotations

from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse


class DemoBrandingTests(TestCase):
    def test_the_demo_admin_carries_its_own_name(self) -> None:
        self.client.force_login(User.objects.create_superuser("boss", password="x"))
        response = self.client.get(reverse("admin:index"))
        self.assertContains(
            response, "<title>Site administration | cargotime demo</title>"
        )
        self.assertContains(response, ">cargotime demo</a>")
        self.assertNotContains(response, "Django administration")

    def test_the_login_page_keeps_the_theme_toggle(self) -> None:
        response = self.client.get(reverse("admin:login"))
        self.assertContains(response, ">cargotime demo</a>")
        self.assertContains(response, 'class="theme-toggle"')
