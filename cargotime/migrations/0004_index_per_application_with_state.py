"""File each index row under its application's name, and give it the cargo's state.

Rows written before this migration keep their meaning: each takes the application name
of the stored event it indexes (the name cargotime is configured with where no stored
event matches). Their state columns stay NULL until `timestamp_index rebuild` fills
them from the stored events; `timestamp_index check` reports them until then.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery

# The function of migration 0003, now reading only the application's own index rows.
CREATE = """
CREATE OR REPLACE FUNCTION cargotime_events_at(
    wanted_id uuid, instant timestamptz, application text, with_snapshot boolean
) RETURNS TABLE (part integer, version bigint, event_topic text, event_state bytea)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    at_version bigint;
    after_version bigint := 0;
BEGIN
    -- The index probe: the latest (timestamp, version) at or before the instant.
    at_version := (
        SELECT i.originator_version
        FROM cargotime_eventtimestamp AS i
        WHERE i.application_name = application
            AND i.originator_id = wanted_id
            AND i."timestamp" <= instant
        ORDER BY i."timestamp" DESC, i.originator_version DESC
        LIMIT 1
    );
    IF at_version IS NULL THEN
        RETURN;
    END IF;
    IF with_snapshot THEN
        SELECT s.originator_version, s.topic, s.state
        INTO version, event_topic, event_state
        FROM snapshots AS s
        WHERE s.application_name = application
            AND s.originator_id = wanted_id
            AND s.originator_version <= at_version
        ORDER BY s.originator_version DESC
        LIMIT 1;
        IF FOUND THEN
            part := 0;
            after_version := version;
            RETURN NEXT;
        END IF;
    END IF;
    RETURN QUERY
        SELECT 1, e.originator_version, e.topic, e.state
        FROM stored_events AS e
        WHERE e.application_name = application
            AND e.originator_id = wanted_id
            AND e.originator_version > after_version
            AND e.originator_version <= at_version
        ORDER BY e.originator_version;
END
$$
"""


def name_rows(apps: Any, schema_editor: Any) -> None:
    from cargotime import conf

    alias = schema_editor.connection.alias
    rows = apps.get_model("cargotime", "EventTimestamp").objects.using(alias)
    events = apps.get_model("eventsourcing_django", "StoredEventRecord")
    # Only a cargo event's name: the old index held one row per (id, version).
    owner = events.objects.using(alias).filter(
        originator_id=OuterRef("originator_id"),
        originator_version=OuterRef("originator_version"),
        topic__startswith="cargotime.domain:Cargo.",
    )
    rows.update(application_name=Subquery(owner.values("application_name")[:1]))
    rows.filter(Q(application_name__isnull=True) | Q(application_name="")).update(
        application_name=conf.application_name()
    )


def create_function(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore_function(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("cargotime.migrations.0003_events_at_function")
        schema_editor.execute(previous.CREATE)


class Migration(migrations.Migration):
    dependencies = [
        ("cargotime", "0003_events_at_function"),
        ("eventsourcing_django", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventtimestamp",
            name="application_name",
            field=models.CharField(
                max_length=32, null=True, verbose_name="application name"
            ),
        ),
        migrations.RunPython(name_rows, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="eventtimestamp",
            name="application_name",
            field=models.CharField(max_length=32, verbose_name="application name"),
        ),
        migrations.RemoveConstraint(
            model_name="eventtimestamp",
            name="cargotime_eventtimestamp_unique_version",
        ),
        migrations.RemoveIndex(model_name="eventtimestamp", name="cargotime_et_lookup"),
        migrations.RemoveIndex(
            model_name="eventtimestamp", name="cargotime_et_bookings"
        ),
        migrations.AddConstraint(
            model_name="eventtimestamp",
            constraint=models.UniqueConstraint(
                fields=("application_name", "originator_id", "originator_version"),
                name="cargotime_et_unique_version",
            ),
        ),
        migrations.AddIndex(
            model_name="eventtimestamp",
            index=models.Index(
                fields=[
                    "application_name",
                    "originator_id",
                    "timestamp",
                    "originator_version",
                ],
                name="cargotime_et_app_lookup",
            ),
        ),
        migrations.AddIndex(
            model_name="eventtimestamp",
            index=models.Index(
                condition=models.Q(("originator_version", 1)),
                fields=["application_name", "-timestamp", "-originator_id"],
                name="cargotime_et_app_bookings",
            ),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="origin",
            field=models.CharField(max_length=16, null=True, verbose_name="origin"),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="destination",
            field=models.CharField(
                max_length=16, null=True, verbose_name="destination"
            ),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="arrival_deadline",
            field=models.DateTimeField(null=True, verbose_name="arrival deadline"),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="transport_status",
            field=models.CharField(
                max_length=20, null=True, verbose_name="transport status"
            ),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="routing_status",
            field=models.CharField(
                max_length=20, null=True, verbose_name="routing status"
            ),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="is_misdirected",
            field=models.BooleanField(null=True, verbose_name="misdirected"),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="last_known_location",
            field=models.CharField(
                max_length=16, null=True, verbose_name="last known location"
            ),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="current_voyage_number",
            field=models.TextField(null=True, verbose_name="current voyage number"),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="estimated_time_of_arrival",
            field=models.DateTimeField(
                null=True, verbose_name="estimated time of arrival"
            ),
        ),
        migrations.AddField(
            model_name="eventtimestamp",
            name="route",
            field=models.TextField(null=True, verbose_name="route"),
        ),
        migrations.RunPython(create_function, restore_function, elidable=False),
    ]
