from __future__ import annotations

from django.db import migrations, models

from helpdesk.lib.migrations import AddIndexConcurrentlyOnPostgres


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
