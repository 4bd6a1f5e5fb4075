from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from mentions import polling
from mentions.models import Stream


class Command(BaseCommand):
    help = "Backfill a search stream over the last 7 days with a progress bar (waits out rate limits)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream_id", type=int)
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Forget the cursor and backfill again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            stream = Stream.objects.get(pk=options["stream_id"])
        except Stream.DoesNotExist:
            raise CommandError(f"There is no stream {options['stream_id']}.") from None
        if options["restart"]:
            Stream.objects.filter(pk=stream.pk).update(
                since_id="", checkpoint=None, backfill_completed_at=None
            )
        total = 0
        with tqdm(
            total=100,
            unit="%",
            desc=stream.name,
            bar_format="{l_bar}{bar}| {n:.0f}% {postfix}",
        ) as bar:
            while True:
                result = polling.poll_stream(stream.pk, max_pages=1)
                total += result.created
                stream.refresh_from_db()
                progress = stream.backfill_progress()
                bar.n = 100 if progress is None else round(progress * 100, 1)
                bar.set_postfix_str(f"{total} new")
                bar.refresh()
                if result.outcome == polling.Outcome.PAUSED:
                    continue
                if result.outcome in (
                    polling.Outcome.RATE_LIMITED,
                    polling.Outcome.RETRYING,
                    polling.Outcome.SKIPPED,
                ):
                    wait = max(
                        1.0, (stream.next_poll_at - timezone.now()).total_seconds()
                    )
                    bar.set_postfix_str(
                        f"{total} new, {result.outcome}: waiting {wait:.0f}s"
                    )
                    time.sleep(wait)
                    continue
                break
        if result.outcome == polling.Outcome.STOPPED:
            raise CommandError(f"Stream stopped: {result.error}")
        self.stdout.write(self.style.SUCCESS(f"Backfill done: {total} new mentions."))
