"""Celery tasks: thin wrappers over polling.py.

Failures are not Celery retries: poll_stream writes the rate-limit wait, the backoff or the stop to the
stream row, and the beat-driven dispatcher sends the stream again when it is due.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from mentions import polling


@shared_task(ignore_result=True)
def dispatch_due_streams_task() -> None:
    for stream_id in polling.dispatch_due_streams(now=timezone.now()):
        poll_stream_task.delay(stream_id)


@shared_task(ignore_result=True)
def poll_stream_task(stream_id: int) -> None:
    # A page budget per task lets other streams' polls interleave with a long backfill.
    polling.poll_stream(stream_id, max_pages=settings.X_MAX_PAGES_PER_TASK)
