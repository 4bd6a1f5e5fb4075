from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mentions.integrity import orphans


class Command(BaseCommand):
    help = (
        "Check the relations that ingest writes without database foreign keys (mentions to accounts, "
        "authors, threads and teams; threads to authors; stream links; SLA clocks to mentions and policies). Exits 1 if a row is orphaned."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = orphans()
        for name, count in counts.items():
            self.stdout.write(f"{name:24} {count:>10,} orphaned")
        broken = {name: count for name, count in counts.items() if count}
        if broken:
            raise CommandError(
                "orphaned rows: "
                + ", ".join(f"{name} {count:,}" for name, count in broken.items())
                + " (written around the application: a raw DELETE or a partial restore)"
            )
        self.stdout.write(self.style.SUCCESS("ok: no orphaned rows"))
