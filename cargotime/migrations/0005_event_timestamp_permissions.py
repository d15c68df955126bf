"""Drop the event timestamp's add, change, delete and view permissions.

Each granted nothing: the rows are read-only for everyone, and reading them needs
cargotime.view_cargo_history. Groups and users that held one of them simply lose it.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

UNUSED = [f"{action}_eventtimestamp" for action in ("add", "change", "delete", "view")]


def drop_unused_permissions(apps: Any, schema_editor: Any) -> None:
    # Deleting the rows also deletes their group and user assignments.
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="cargotime",
        content_type__model="eventtimestamp",
        codename__in=UNUSED,
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("cargotime", "0004_index_per_application_with_state"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="eventtimestamp",
            options={
                "default_permissions": (),
                "permissions": [
                    ("view_cargo_history", "Can view a cargo as it was at any time")
                ],
                "verbose_name": "event timestamp",
                "verbose_name_plural": "event timestamps",
            },
        ),
        # Going back, Django's post_migrate signal creates them again.
        migrations.RunPython(drop_unused_permissions, migrations.RunPython.noop),
    ]
