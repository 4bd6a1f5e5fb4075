"""Celery tasks of the escalation sweep (routed to the sla queue; deliveries to the delivery queue)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from mentions.escalation import notify, services


@shared_task(ignore_result=True)
def sweep_escalations_task() -> None:
    """Beat runs this every SLA_SWEEP_INTERVAL; overlapping runs are safe (firings are unique rows)."""
    services.sweep(now=timezone.now())


# Retry only TemporaryDeliveryError: a timeout, a refused connection, SMTP 4xx or HTTP 429/5xx can
# succeed later. A permanent error (bad address, HTTP 4xx) marks the row failed inside `deliver`
# and does not raise, and so does the MAX_ATTEMPTS-th attempt; max_retries is only a backstop.
@shared_task(
    ignore_result=True,
    autoretry_for=(notify.TemporaryDeliveryError,),
    retry_backoff=notify.BACKOFF_BASE,
    retry_backoff_max=notify.BACKOFF_MAX,
    max_retries=notify.MAX_ATTEMPTS,
)
def deliver_notification_task(notification_id: int) -> None:
    notify.deliver(notification_id, now=timezone.now())
