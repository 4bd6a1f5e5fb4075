from __future__ import annotations

import datetime

import django.db.models.expressions
import django.db.models.functions.comparison
from django.db import migrations, models

from helpdesk.lib.migrations import AddIndexConcurrentlyOnPostgres

NO_DUE_AT = datetime.datetime(9999, 12, 31, 0, 0, tzinfo=datetime.UTC)


def _urgency() -> list[object]:
    return [
        django.db.models.functions.comparison.Coalesce(
            "sla_due_at", models.Value(NO_DUE_AT)
        ),
        django.db.models.expressions.CombinedExpression(
            models.F("priority"), "*", models.Value(-1)
        ),
        models.F("created_at"),
        models.F("id"),
    ]


class Migration(migrations.Migration):
    """The queue's "most urgent first" order (mentions/queue.py) and its live poll, as index scans.

    mentions_mention_status_queue (status, -created_at) served the old newest-first order; the
    status-led urgency index replaces it.
    """

    atomic = False

    dependencies = [
        ("mentions", "0004_add_mention_updated_at"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="mention",
            name="mentions_mention_status_queue",
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="mention",
            index=models.Index(
                *_urgency(),
                condition=models.Q(("status__in", ("new", "open"))),
                name="mentions_mention_open_urgency",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="mention",
            index=models.Index(
                models.F("status"), *_urgency(), name="mentions_mention_status_due"
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="mention",
            index=models.Index(*_urgency(), name="mentions_mention_urgency"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="mention",
            index=models.Index(fields=["updated_at"], name="mentions_mention_updated"),
        ),
    ]
