"""The event store in the admin: eventsourcing-django's models, view-only for all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite, ModelAdmin
    from django.db.models import Model

EVENT_STORE_APP = "eventsourcing_django"


class ViewOnly:
    """Refuse adding, changing and deleting, superusers included; viewing stays."""

    # History is append-only: an edited or deleted stored event silently changes
    # every answer time travel gives, and the index no longer matches the events.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def event_store_models() -> list[type[Model]]:
    """Return the models of the event store: stored events, snapshots, tracking."""
    if not apps.is_installed(EVENT_STORE_APP):
        return []
    return list(apps.get_app_config(EVENT_STORE_APP).get_models())


def admin_sites() -> list[AdminSite]:
    """Return every admin site of the project (none without the admin)."""
    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib.admin.sites import all_sites

    return sorted(all_sites, key=lambda site: site.name)


def make_view_only(site: AdminSite) -> None:
    """Register the site's event-store admins again, as their view-only subclasses."""
    for model in event_store_models():
        if not site.is_registered(model):
            continue
        model_admin = site.get_model_admin(model)
        if isinstance(model_admin, ViewOnly):
            continue
        # A subclass of whatever the project registered keeps its columns and
        # filters; only the permissions to write change.
        base = type(model_admin)
        view_only = type(f"ViewOnly{base.__name__}", (ViewOnly, base), {})
        site.unregister(model)
        site.register(model, view_only)


def editable_event_store(site: AdminSite) -> list[type[Model]]:
    """Return the event-store models that *site* lets a superuser write."""
    request = HttpRequest()
    request.user = _Superuser()  # type: ignore[assignment]
    return [
        model
        for model in event_store_models()
        if site.is_registered(model)
        and _offers_writes(site.get_model_admin(model), request)
    ]


def _offers_writes(model_admin: ModelAdmin[Any], request: HttpRequest) -> bool:
    try:
        return bool(
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
        )
    except Exception:
        # Permissions this probe cannot ask about are not known to be refused.
        return True


class _Superuser:
    # Stands in for the most powerful user there can be: whatever it may not
    # write, nobody may.
    pk = id = None
    is_active = is_staff = is_superuser = is_authenticated = True
    is_anonymous = False

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return True

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return True

    def has_module_perms(self, app_label: str) -> bool:
        return True
