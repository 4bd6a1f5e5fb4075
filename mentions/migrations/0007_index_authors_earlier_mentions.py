from __future__ import annotations

import django.db.models.deletion
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
    """The workspace's author card reads the author's earlier mentions newest first.

    The new index leads with author_id, so it also serves the foreign key: the plain FK index goes,
    after the new one exists (ingest keeps writing as many indexes as before).
    """

    atomic = False

    dependencies = [
        ("mentions", "0006_add_conversation_index"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="mention",
            index=models.Index(
                fields=["author", "-created_at", "-id"], name="mentions_mention_author"
            ),
        ),
        migrations.AlterField(
            model_name="mention",
            name="author",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="mentions",
                to="mentions.author",
            ),
        ),
    ]
