"""Escalation notifications: queue a row, deliver it by email or webhook from a task, retry on failure.

Delivery follows the outbound lifecycle: queued -> sending -> sent | failed. A task claims a row
with a conditional UPDATE (queued -> sending), so duplicate tasks never send twice. Errors that can
succeed later (timeouts, refused connections, SMTP 4xx, HTTP 408/429/5xx) put the row back to
queued and raise TemporaryDeliveryError, which the task retries with backoff; anything else (bad
address, HTTP 4xx, SMTP 5xx) or the last attempt marks it failed. Both outcomes go into the
mention's history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse

from mentions.escalation.models import EscalationFiring, Notification
from mentions.history import record_event
from mentions.models import MentionEvent

MAX_ATTEMPTS = 5
# Seconds before the n-th retry; the task's own backoff (retry_backoff=2) is within this bound.
BACKOFF_BASE = 2
BACKOFF_MAX = 300
# A queued row whose retry is this late, or a row stuck in `sending` this long (its worker died),
# is re-queued by the sweep. A crash mid-send may thus send a notification twice: at-least-once.
STALE_QUEUED = timedelta(minutes=1)
STALE_SENDING = timedelta(minutes=5)
WEBHOOK_TIMEOUT = 10
SIGNATURE_HEADER = "X-Earshot-Signature"
TIMESTAMP_HEADER = "X-Earshot-Timestamp"


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class TemporaryDeliveryError(Exception):
    """Raised out of `deliver` so the Celery task retries later."""


def queue(
    firing: EscalationFiring,
    channel: Notification.Channel,
    destination: str,
    *,
    now: datetime,
) -> Notification:
    """Write the notification row and enqueue its delivery when the transaction commits."""
    from mentions.escalation.tasks import deliver_notification_task

    notification = Notification.objects.create(
        firing=firing,
        channel=channel,
        destination=destination,
        next_attempt_at=now,
        created_at=now,
    )
    deliver_notification_task.delay_on_commit(notification.pk)  # type: ignore[attr-defined]  # celery-types lacks Celery 5.4's DjangoTask
    return notification


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


def deliver(notification_id: int, *, now: datetime) -> None:
    """Claim one queued notification and send it (see the module docstring for the outcomes)."""
    claimed = Notification.objects.filter(
        pk=notification_id, state=Notification.State.QUEUED
    ).update(
        state=Notification.State.SENDING, attempts=F("attempts") + 1, claimed_at=now
    )
    if not claimed:
        return  # another worker has it, or it is already sent or failed
    notification = Notification.objects.select_related(
        "firing__rule", "firing__mention__author", "firing__mention__assignee"
    ).get(pk=notification_id)
    try:
        if notification.channel == Notification.Channel.EMAIL:
            send_email(notification)
        else:
            post_webhook(notification, now=now)
    except DeliveryError as error:
        if error.permanent or notification.attempts >= MAX_ATTEMPTS:
            _finish(notification, Notification.State.FAILED, error=str(error), now=now)
            return
        Notification.objects.filter(pk=notification.pk).update(
            state=Notification.State.QUEUED,
            last_error=str(error)[:2000],
            next_attempt_at=now + backoff(notification.attempts),
        )
        raise TemporaryDeliveryError(str(error)) from error
    _finish(notification, Notification.State.SENT, error="", now=now)


def _finish(
    notification: Notification, state: Notification.State, *, error: str, now: datetime
) -> None:
    firing = notification.firing
    with transaction.atomic():
        notification.state = state
        notification.last_error = error[:2000]
        notification.sent_at = now if state == Notification.State.SENT else None
        notification.next_attempt_at = None
        notification.save(
            update_fields=["state", "last_error", "sent_at", "next_attempt_at"]
        )
        outcome = (
            "sent" if state == Notification.State.SENT else f"failed: {error[:300]}"
        )
        record_event(
            firing.mention,
            MentionEvent.Kind.ESCALATION,
            f'Escalation rule "{firing.rule.name}": {notification.get_channel_display().lower()} '
            f"to {notification.destination} {outcome} (attempt {notification.attempts})",
            data={
                "rule": firing.rule_id,
                "firing": firing.pk,
                "notification": notification.pk,
                "state": state.value,
            },
            at=now,
        )


def requeue_stale(*, now: datetime) -> int:
    """Re-enqueue deliveries whose task was lost (broker restart, worker killed mid-send)."""
    from mentions.escalation.tasks import deliver_notification_task

    stale = Q(
        state=Notification.State.QUEUED, next_attempt_at__lte=now - STALE_QUEUED
    ) | Q(state=Notification.State.SENDING, claimed_at__lte=now - STALE_SENDING)
    ids = list(Notification.objects.filter(stale).values_list("pk", flat=True)[:500])
    if not ids:
        return 0
    with transaction.atomic():
        Notification.objects.filter(stale, pk__in=ids).update(
            state=Notification.State.QUEUED, next_attempt_at=now
        )
        for pk in ids:
            deliver_notification_task.delay_on_commit(pk)  # type: ignore[attr-defined]  # celery-types lacks Celery 5.4's DjangoTask
    return len(ids)


# --- The message ----------------------------------------------------------------------------


def context(notification: Notification) -> dict[str, Any]:
    from mentions.escalation.actions import describe_target

    firing = notification.firing
    mention = firing.mention
    clock = None
    if firing.target:
        from mentions.sla.models import SlaClock

        clock = SlaClock.objects.filter(
            mention=mention, target=firing.target, cycle=firing.cycle
        ).first()
    return {
        "rule": firing.rule,
        "firing": firing,
        "mention": mention,
        "target": describe_target(firing),
        "clock": clock,
        "url": f"{settings.SITE_URL}{reverse('mentions:detail', args=[mention.pk])}",
    }


def send_email(notification: Notification) -> None:
    ctx = context(notification)
    subject = " ".join(render_to_string("emails/escalation-subject.txt", ctx).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/escalation-body.txt", ctx),
        to=[notification.destination],
    )
    message.attach_alternative(
        render_to_string("emails/escalation-body.html", ctx), "text/html"
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise DeliveryError(
            f"recipient refused: {error.recipients}",
            permanent=not all(400 <= c < 500 for c in codes),
        ) from error
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(
            f"SMTP {error.smtp_code}: {error.smtp_error!r}",
            permanent=error.smtp_code >= 500,
        ) from error
    except (smtplib.SMTPException, OSError) as error:
        # Disconnects, refused connections and timeouts: the server may be back in a moment.
        raise DeliveryError(f"SMTP: {error}", permanent=False) from error


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters: customer text must not ping @channel or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(notification: Notification) -> bytes:
    ctx = context(notification)
    mention, rule = ctx["mention"], ctx["rule"]
    headline = f"Escalation: {rule.name}" + (
        f" ({ctx['target']})" if ctx["target"] else ""
    )
    author = f"@{mention.author.handle}"
    due = ctx["clock"].due_at.isoformat() if ctx["clock"] is not None else None
    text = f"{headline}: {author}: {mention.text}"
    body = {
        "text": _slack_escape(text[:3000]),
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{_slack_escape(headline)}*"},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _slack_escape(f"{author}: {mention.text}"[:2900]),
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{ctx['url']}|Open in Earshot>"
                        + (f" · due {due}" if due else ""),
                    }
                ],
            },
        ],
        # Extra fields for receivers other than Slack (Slack ignores them); `firing` lets a receiver
        # drop a redelivery.
        "earshot": {
            "rule": rule.pk,
            "firing": ctx["firing"].pk,
            "mention": mention.pk,
            "target": ctx["firing"].target,
            "cycle": ctx["firing"].cycle,
            "due_at": due,
            "url": ctx["url"],
        },
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(notification: Notification, *, now: datetime) -> None:
    body = webhook_body(notification)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Earshot-Escalation/1",
        TIMESTAMP_HEADER: str(int(now.timestamp())),
    }
    secret = notification.firing.rule.webhook_secret
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    try:
        response = requests.post(
            notification.destination,
            data=body,
            headers=headers,
            timeout=WEBHOOK_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise DeliveryError(
            f"webhook: {error.__class__.__name__}: {error}", permanent=False
        ) from error
    if 200 <= response.status_code < 300:
        return
    retry = response.status_code in {408, 425, 429} or response.status_code >= 500
    raise DeliveryError(
        f"webhook answered HTTP {response.status_code}: {response.text[:200]}",
        permanent=not retry,
    )
