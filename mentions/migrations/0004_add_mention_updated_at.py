from __future__ import annotations

import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The live queue polls for rows changed since a cursor; the database fills it on insert.

    now() is STABLE, so PostgreSQL adds the column without rewriting the table (one default for old rows).
    """

    dependencies = [
        ("mentions", "0003_add_triage_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="mention",
            name="updated_at",
            field=models.DateTimeField(
                db_default=django.db.models.functions.datetime.Now(),
                default=django.utils.timezone.now,
            ),
        ),
    ]
