from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Ingest writes two clocks per mention: no row-by-row foreign-key checks at COMMIT (docs/ingest.md)."""

    dependencies = [
        ("mentions", "0010_drop_ingest_foreign_key_constraints"),
        ("sla", "0005_drop_clock_indexes_ingest_does_not_need"),
    ]

    operations = [
        migrations.AlterField(
            model_name="slaclock",
            name="mention",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="clocks",
                to="mentions.mention",
            ),
        ),
        migrations.AlterField(
            model_name="slaclock",
            name="policy",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="clocks",
                to="sla.slapolicy",
            ),
        ),
    ]
