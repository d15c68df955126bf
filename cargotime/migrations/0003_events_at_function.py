"""On PostgreSQL, time travel's query as a function, so that its plans are kept.

PostgreSQL plans a statement each time it is sent, unless it is prepared, and Django
leaves prepared statements off by default because transaction-mode poolers lose them.
PL/pgSQL keeps the plans of a function's statements for the life of the connection, so
a time-travel read costs no planning, behind a pooler or not. SQLite needs none of this.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

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
        WHERE i.originator_id = wanted_id AND i."timestamp" <= instant
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

DROP = "DROP FUNCTION IF EXISTS cargotime_events_at(uuid, timestamptz, text, boolean)"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("cargotime", "0002_admin_time_travel"),
        # The function reads eventsourcing-django's stored events and snapshots.
        ("eventsourcing_django", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
