from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

from helpdesk.lib.migrations import AddIndexConcurrentlyOnPostgres


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
