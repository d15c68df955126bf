"""The admin-styled page for staff who lack the permission to see cargo history."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from cargotime.models import EventTimestamp

VIEW_CARGO_HISTORY = "cargotime.view_cargo_history"
TEMPLATES = ["admin/cargotime/forbidden.html", "cargotime/admin/forbidden.html"]


def permission_label() -> str:
    """Return the permission as the admin's permission lists show it."""
    # As Permission.__str__ writes it, without reading the row.
    opts = EventTimestamp._meta
    codename = VIEW_CARGO_HISTORY.partition(".")[2]
    name = dict(opts.permissions)[codename]
    assert opts.app_config is not None
    return f"{opts.app_config.verbose_name} | {opts.verbose_name} | {name}"


def forbidden(
    request: HttpRequest, site: AdminSite, **context: Any
) -> TemplateResponse:
    """Return a 403 in the admin's look that names the permission to ask for."""
    request.current_app = site.name
    return TemplateResponse(
        request,
        TEMPLATES,
        {
            **site.each_context(request),
            "title": _("You need a permission to see cargo history"),
            "permission": permission_label(),
            "codename": VIEW_CARGO_HISTORY,
            **context,
        },
        status=403,
    )
