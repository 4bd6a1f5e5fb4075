from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from mentions.escalation import services


class Command(BaseCommand):
    help = "Run one escalation sweep now (mark SLA breaches, fire matching rules), as beat does."

    def handle(self, *args: Any, **options: Any) -> None:
        fired = services.sweep(now=timezone.now())
        self.stdout.write(f"{fired} escalation firing(s).")
