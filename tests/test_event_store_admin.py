"""The event store in the admin: view-only for everyone, superusers included."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.sites import all_sites
from django.contrib.auth.models import Permission, User
from django.test import TestCase
from django.urls import reverse
from eventsourcing_django.models import (
    NotificationTrackingRecord,
    SnapshotRecord,
    StoredEventRecord,
)

from cargotime.application import SearchableTimestampsApplication
from cargotime.event_store_admin import (
    ViewOnly,
    editable_event_store,
    event_store_models,
    make_view_only,
)
from cargotime.models import EventTimestamp
from tests.cargos import book_voyage, stored
from tests.helpers import ManualClock

EVENT_STORE = [StoredEventRecord, SnapshotRecord, NotificationTrackingRecord]


class StoredEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["originator_id", "originator_version", "topic"]


def url(model: Any, view: str, *args: object) -> str:
    name = f"admin:eventsourcing_django_{model._meta.model_name}_{view}"
    return reverse(name, args=args)


class EventStoreAdminTests(TestCase):
    def setUp(self) -> None:
        self.app = SearchableTimestampsApplication(
            clock=ManualClock(), snapshot_interval=3
        )
        self.addCleanup(self.app.close)
        self.tracking_id = book_voyage(self.app, ManualClock())
        self.counts = stored()
        self.event = StoredEventRecord.objects.order_by("-originator_version")[0]
        self.snapshot = SnapshotRecord.objects.order_by("pk")[0]
        self.tracking = NotificationTrackingRecord.objects.create(
            application_name="cargotime",
            upstream_application_name="upstream",
            notification_id=1,
        )
        self.rows = {
            StoredEventRecord: self.event,
            SnapshotRecord: self.snapshot,
            NotificationTrackingRecord: self.tracking,
        }
        self.client.force_login(User.objects.create_superuser("boss", password="x"))

    def assert_nothing_changed(self) -> None:
        assert stored() == self.counts
        assert NotificationTrackingRecord.objects.count() == 1
        self.event.refresh_from_db()
        assert self.event.originator_version == 8

    def test_every_event_store_model_is_view_only_on_every_site(self) -> None:
        assert event_store_models() == EVENT_STORE
        for site in all_sites:
            for model in EVENT_STORE:
                if site.is_registered(model):
                    assert isinstance(site.get_model_admin(model), ViewOnly)
            assert editable_event_store(site) == []
        # eventsourcing-django registers all three on the default site.
        assert all(admin.site.is_registered(model) for model in EVENT_STORE)

    def test_superusers_may_view_but_not_add_change_or_delete(self) -> None:
        for model, row in self.rows.items():
            with self.subTest(model=model.__name__):
                changelist = self.client.get(url(model, "changelist"))
                assert changelist.status_code == 200
                self.assertNotContains(changelist, url(model, "add"))
                # No actions: the bulk delete needs the delete permission.
                self.assertNotContains(changelist, 'name="action"')
                page = self.client.get(url(model, "change", row.pk))
                assert page.status_code == 200
                self.assertNotContains(page, 'name="_save"')
                self.assertNotContains(page, url(model, "delete", row.pk))
                assert self.client.get(url(model, "add")).status_code == 403
                assert self.client.post(url(model, "add"), {}).status_code == 403
                assert self.client.get(url(model, "delete", row.pk)).status_code == 403
                response = self.client.post(
                    url(model, "delete", row.pk), {"post": "yes"}
                )
                assert response.status_code == 403
                # Posting a change form saves nothing: the page is read-only.
                response = self.client.post(
                    url(model, "change", row.pk), {"originator_version": 99}
                )
                assert response.status_code == 403
        self.assert_nothing_changed()

    def test_the_bulk_delete_action_is_refused(self) -> None:
        # Was: deleting version 8 here made ?version=8 quietly show version 7.
        for model, row in self.rows.items():
            with self.subTest(model=model.__name__):
                response = self.client.post(
                    url(model, "changelist"),
                    {
                        "action": "delete_selected",
                        "_selected_action": [row.pk],
                        "post": "yes",
                    },
                )
                assert response.status_code in {200, 302}
        self.assert_nothing_changed()

    def test_staff_with_the_view_permission_may_view(self) -> None:
        clerk = User.objects.create_user("clerk", password="x", is_staff=True)
        clerk.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="eventsourcing_django",
                codename="view_storedeventrecord",
            ),
            # Even the change permission changes nothing here.
            Permission.objects.get(
                content_type__app_label="eventsourcing_django",
                codename="change_storedeventrecord",
            ),
        )
        self.client.force_login(clerk)
        changelist = url(StoredEventRecord, "changelist")
        assert self.client.get(changelist).status_code == 200
        change = url(StoredEventRecord, "change", self.event.pk)
        assert self.client.get(change).status_code == 200
        assert self.client.post(change, {"topic": "x"}).status_code == 403
        assert self.client.get(url(SnapshotRecord, "changelist")).status_code == 403
        self.assert_nothing_changed()

    def test_a_project_registration_keeps_its_options_and_loses_writing(self) -> None:
        site = admin.AdminSite(name="project_admin")
        site.register(StoredEventRecord, StoredEventAdmin)
        site.register(EventTimestamp)
        # Sites live as long as anything refers to them: leave this one empty.
        self.addCleanup(site.unregister, [StoredEventRecord, EventTimestamp])
        assert editable_event_store(site) == [StoredEventRecord]
        make_view_only(site)
        model_admin = site.get_model_admin(StoredEventRecord)
        assert isinstance(model_admin, StoredEventAdmin)
        assert isinstance(model_admin, ViewOnly)
        assert model_admin.list_display == StoredEventAdmin.list_display
        assert editable_event_store(site) == []
        # Only the event store: the project's other admins are its own business.
        assert not isinstance(site.get_model_admin(EventTimestamp), ViewOnly)
        # Twice is the same as once.
        make_view_only(site)
        assert site.get_model_admin(StoredEventRecord) is model_admin
