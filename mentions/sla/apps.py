from __future__ import annotations

from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "mentions.sla"
    label = "sla"
    verbose_name = "SLA"
    default_auto_field = "django.db.models.BigAutoField"
