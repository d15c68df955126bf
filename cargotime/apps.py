"""The cargotime Django app, and the process-wide application it owns."""

from __future__ import annotations

from threading import Lock
from typing import Any

from django.apps import AppConfig, apps
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _

from cargotime import conf
from cargotime.application import Clock, SearchableTimestampsApplication


class CargotimeConfig(AppConfig):
    name = "cargotime"
    verbose_name = _("Cargo time travel")
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name: str, app_module: Any) -> None:
        super().__init__(app_name, app_module)
        self._application: SearchableTimestampsApplication | None = None
        # Applications that read another database than the one written: by alias.
        self._readers: dict[str, SearchableTimestampsApplication] = {}
        self._lock = Lock()

    def ready(self) -> None:
        from cargotime import checks  # noqa: F401  (registers the system checks)
        from cargotime.event_store_admin import admin_sites, make_view_only

        # The admin's autodiscovery has registered eventsourcing-django's models with
        # add, change and delete by now; history is append-only.
        for site in admin_sites():
            make_view_only(site)
        setting_changed.connect(self._on_setting_changed)

    def get_application(self) -> SearchableTimestampsApplication:
        """Return the application, building it on first use."""
        with self._lock:
            if self._application is None:
                self._application = build_application()
            return self._application

    def get_reader(self, alias: str) -> SearchableTimestampsApplication:
        """Return an application that reads the database *alias*, building it once."""
        if alias == conf.database_alias():
            return self.get_application()
        with self._lock:
            reader = self._readers.get(alias)
            if reader is None:
                reader = self._readers[alias] = build_application(using=alias)
            return reader

    def reset_application(self) -> None:
        """Forget the application, so that the next use builds it anew."""
        with self._lock:
            if self._application is not None:
                self._application.close()
            self._application = None
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()

    def _on_setting_changed(self, *, setting: str, **kwargs: Any) -> None:
        if setting in {"CARGOTIME", "DATABASES"}:
            self.reset_application()


def build_application(
    *, clock: Clock | None = None, using: str | None = None
) -> SearchableTimestampsApplication:
    """Build the application CARGOTIME describes; a *clock* given wins over CLOCK."""
    # Passed, not left to the class: os.environ overrides a class's env, not this.
    # *using*, another alias than DATABASE_ALIAS, names a replica to read from.
    env = {
        **SearchableTimestampsApplication.env,
        "DJANGO_DB_ALIAS": using or conf.database_alias(),
    }
    return SearchableTimestampsApplication(
        env=env,
        clock=clock or conf.clock(),
        name=conf.application_name(),
        snapshot_interval=conf.snapshot_interval(),
    )


def get_application() -> SearchableTimestampsApplication:
    """Return the process-wide application that the admin and commands use."""
    config = apps.get_app_config("cargotime")
    assert isinstance(config, CargotimeConfig)
    return config.get_application()


def get_reader(alias: str) -> SearchableTimestampsApplication:
    """Return the process-wide application that reads the database *alias*."""
    config = apps.get_app_config("cargotime")
    assert isinstance(config, CargotimeConfig)
    return config.get_reader(alias)
