from __future__ import annotations

from django.db import migrations, models

from helpdesk.lib.migrations import AddIndexConcurrentlyOnPostgres


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
