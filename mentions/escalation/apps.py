from __future__ import annotations

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "mentions.escalation"
    label = "escalation"
    verbose_name = "Escalation"
    default_auto_field = "django.db.models.BigAutoField"
