"""Feed the sandbox X API with realistic customer posts and DMs at a steady rate, with bursts."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentions.sandbox import generator
from mentions.sandbox.models import SandboxUser


class Command(BaseCommand):
    help = "Create customer posts and DMs for a sandbox brand at --rate per second until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--brand", required=True, help="The sandbox brand's username (without @)."
        )
        parser.add_argument(
            "--rate", type=float, default=0.5, help="Items per second (default 0.5)."
        )
        parser.add_argument(
            "--burst-every",
            type=float,
            default=0,
            help="Seconds between bursts (0: none).",
        )
        parser.add_argument(
            "--burst-size", type=int, default=20, help="Items per burst (an incident)."
        )
        parser.add_argument(
            "--duration", type=float, default=0, help="Stop after this many seconds."
        )
        parser.add_argument(
            "--count", type=int, default=0, help="Stop after this many items."
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Seed for a reproducible run."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        brand = SandboxUser.objects.filter(
            username_lower=options["brand"].lower()
        ).first()
        if brand is None:
            raise CommandError(
                f"No sandbox user @{options['brand']}: run setupdemo first."
            )
        if options["rate"] <= 0:
            raise CommandError("--rate must be positive.")
        rng = random.Random(options["seed"])  # noqa: S311 - fake traffic, reproducible by seed
        started = time.monotonic()
        next_burst = (
            started + options["burst_every"] if options["burst_every"] else None
        )
        made = 0
        try:
            while not self._done(options, made, started):
                batch = 1
                if next_burst is not None and time.monotonic() >= next_burst:
                    batch = options["burst_size"]
                    next_burst += options["burst_every"]
                for _ in range(batch):
                    item = generator.generate_one(rng, brand)
                    made += 1
                    self.stdout.write(
                        f"{type(item).__name__} {item.id}: {item.text[:70]}"
                    )
                    if self._done(options, made, started):
                        break
                time.sleep(rng.expovariate(options["rate"]))
        except KeyboardInterrupt:
            pass
        self.stdout.write(self.style.SUCCESS(f"Created {made} items."))

    @staticmethod
    def _done(options: dict[str, Any], made: int, started: float) -> bool:
        if options["count"] and made >= options["count"]:
            return True
        return (
            bool(options["duration"])
            and time.monotonic() - started >= options["duration"]
        )
