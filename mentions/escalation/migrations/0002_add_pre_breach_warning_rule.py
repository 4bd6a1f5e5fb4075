"""Ship the default rule, enabled: warn the assignee (or the team) 15 minutes before a first response breaches."""

from __future__ import annotations

from typing import Any

from django.db import migrations

NAME = "Pre-breach warning"


def add_rule(apps: Any, schema_editor: Any) -> None:
    EscalationRule = apps.get_model("escalation", "EscalationRule")
    EscalationRule.objects.get_or_create(
        name=NAME,
        defaults={
            "is_active": True,
            "position": 0,
            "conditions": {
                "clock": {"target": "first_response", "due_within_minutes": 15}
            },
            "actions": [{"type": "notify_email", "to": "assignee_or_team"}],
        },
    )


def remove_rule(apps: Any, schema_editor: Any) -> None:
    apps.get_model("escalation", "EscalationRule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_add_rules_firings_notifications")]

    operations = [migrations.RunPython(add_rule, remove_rule)]
