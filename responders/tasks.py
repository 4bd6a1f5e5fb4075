"""Thin Celery tasks over responders/delivery.py (routed to the `delivery` queue in helpdesk/celery.py)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from responders import delivery


@shared_task(ignore_result=True)
def deliver_outbound_task(outbound_id: int) -> None:
    # No autoretry: the service writes the retry time to the row and says when to look again.
    delay = delivery.deliver_outbound(
        outbound_id, now=timezone.now(), owner=delivery.new_owner()
    )
    if delay is not None:
        deliver_outbound_task.apply_async(args=(outbound_id,), countdown=delay)


@shared_task(ignore_result=True)
def recover_outbounds_task() -> None:
    """Re-send the task for rows a lost message or a dead worker left behind (beat, every minute)."""
    for outbound_id in delivery.stalled_ids(now=timezone.now()):
        deliver_outbound_task.delay(outbound_id)
