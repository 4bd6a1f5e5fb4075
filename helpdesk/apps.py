from __future__ import annotations

from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Earshot"

    def ready(self) -> None:
        from helpdesk import checks  # noqa: F401  (registers the system checks)
