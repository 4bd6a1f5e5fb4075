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
    """The workspace shows the whole conversation of a mention; without this it reads the whole table."""

    atomic = False

    dependencies = [
        ("mentions", "0005_add_queue_urgency_indexes"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="mention",
            index=models.Index(
                fields=["conversation_id", "created_at", "id"],
                condition=~models.Q(("conversation_id", "")),
                name="mentions_mention_conversation",
            ),
        ),
    ]
