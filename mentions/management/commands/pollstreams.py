from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from mentions import polling
from mentions.models import Stream


class Command(BaseCommand):
    help = "Run one polling round: poll every due stream (or the given ones) once, in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stream",
            type=int,
            action="append",
            dest="streams",
            help="Poll this stream id.",
        )
        parser.add_argument(
            "--all", action="store_true", help="Poll every enabled stream, due or not."
        )
        parser.add_argument(
            "--max-pages",
            type=int,
            default=None,
            help="Stop each poll after this many pages.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["streams"]:
            stream_ids = list(options["streams"])
        elif options["all"]:
            stream_ids = list(
                Stream.objects.filter(
                    enabled=True, stopped_at__isnull=True
                ).values_list("id", flat=True)
            )
        else:
            stream_ids = polling.dispatch_due_streams(now=timezone.now())
        if not stream_ids:
            self.stdout.write("No stream is due.")
        for stream_id in stream_ids:
            result = polling.poll_stream(stream_id, max_pages=options["max_pages"])
            stream = Stream.objects.get(pk=stream_id)
            line = (
                f"{stream.name} (#{stream_id}): {result.outcome}, {result.pages} pages, "
                f"{result.created} new, {result.duplicates} already stored, {result.bad} malformed"
            )
            if result.error:
                line += f" - {result.error}"
            self.stdout.write(line)
