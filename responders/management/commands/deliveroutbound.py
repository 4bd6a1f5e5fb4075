"""`manage.py deliveroutbound`: deliver (or reconcile) the outbound rows a lost task or dead worker left."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from responders import delivery


class Command(BaseCommand):
    help = "Deliver stalled outbound messages now (reconciling with X first where one may have been sent)."

    def handle(self, *args: Any, **options: Any) -> None:
        owner = delivery.new_owner()
        for outbound_id in delivery.stalled_ids(now=timezone.now()):
            delay = delivery.deliver_outbound(
                outbound_id, now=timezone.now(), owner=owner
            )
            self.stdout.write(
                f"outbound {outbound_id}: "
                + ("done" if delay is None else f"look again in {delay:.0f} s")
            )
