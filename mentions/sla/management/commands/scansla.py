"""`manage.py scansla`: report the SLA clocks; optionally mark breaches or re-apply the policies.

Calls the same functions as the escalation sweep (`mark_breaches`) and the policy page's button
(`reapply_policies`); the algorithms live in mentions/sla, not here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from mentions.sla.reapply import reapply_policies
from mentions.sla.reports import clock_counts
from mentions.sla.services import mark_breaches


class Command(BaseCommand):
    help = "Report running, paused, overdue and breached SLA clocks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mark",
            action="store_true",
            help="Mark overdue clocks as breached (the sweep does this every SLA_SWEEP_INTERVAL).",
        )
        parser.add_argument(
            "--reapply",
            action="store_true",
            help="Re-apply the current policies to open mentions and list what changed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["reapply"]:
            changes = reapply_policies(now=now)
            for c in changes:
                self.stdout.write(
                    f"mention {c.mention_id}: {c.old_policy} -> {c.new_policy}, "
                    f"due {c.old_due_at:%Y-%m-%d %H:%M} -> {c.new_due_at:%Y-%m-%d %H:%M}"
                    if c.old_due_at and c.new_due_at
                    else f"mention {c.mention_id}: {c.old_policy} -> {c.new_policy}"
                )
            self.stdout.write(f"{len(changes)} open mention(s) changed.")
        if options["mark"]:
            self.stdout.write(f"{len(mark_breaches(now=now))} clock(s) newly breached.")
        for label, count in clock_counts(now=now).items():
            self.stdout.write(f"{label:>22}: {count}")
