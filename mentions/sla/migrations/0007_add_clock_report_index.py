from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (the table is large and hot); a plain index elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )


class Migration(migrations.Migration):
    """The dashboard's clocks by target and start day, read from the index alone (docs/dashboard.md)."""

    atomic = False

    dependencies = [
        ("sla", "0006_drop_clock_foreign_keys"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="slaclock",
            index=models.Index(
                fields=["target", "started_at"],
                include=(
                    "state",
                    "is_late",
                    "stopped_at",
                    "paused_seconds",
                    "elapsed_seconds",
                    "elapsed_business_seconds",
                    "stopped_by_channel",
                    "stopped_by",
                    "mention",
                    "cycle",
                ),
                name="sla_slaclock_report",
            ),
        ),
    ]
