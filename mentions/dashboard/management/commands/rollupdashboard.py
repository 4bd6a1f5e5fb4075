"""`manage.py rollupdashboard`: refresh the dashboard's daily rollup, or rebuild a range of days.

Calls the same functions as the beat task (`rollup.refresh`) and the rebuild (`rollup.rebuild`).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from mentions.dashboard import rollup


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Refresh the dashboard rollup (changed, recent and missing days), or rebuild"
        " --from/--to (UTC days, inclusive) or --all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", help="first day to rebuild")
        parser.add_argument(
            "--to", dest="last", help="last day to rebuild (default: yesterday)"
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="rebuild every day since the first mention",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        started = time.perf_counter()
        if options["all"] or options["first"]:
            if options["all"]:
                first = rollup.first_day()
                if first is None:
                    self.stdout.write("No mentions yet: nothing to build.")
                    return
            else:
                first = _date(options["first"])
            last = _date(options["last"]) if options["last"] else rollup.utc_day(now)
            if last < first:
                raise CommandError("--to is before --from.")
            days = rollup.rebuild(first, last, now=now)
            self.stdout.write(
                f"Rebuilt {days} day(s) in {time.perf_counter() - started:.1f} s"
                " (today is always computed live)."
            )
            return
        report = rollup.refresh(now=now)
        self.stdout.write(
            f"Refreshed {len(report.built)} day(s): {report.changed} changed, {report.recent}"
            f" recent, {report.backfilled} missing, in {time.perf_counter() - started:.1f} s."
        )
