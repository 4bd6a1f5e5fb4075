"""Queueing, undoing and retrying outbound messages (the worker side is responders/delivery.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction

from mentions.history import record_event
from mentions.models import Mention
from responders.delivery import EVENT_KINDS, event_data
from responders.models import GuardSettings, Handoff, Outbound
from responders.tasks import deliver_outbound_task


def _enqueue(outbound: Outbound, *, now: datetime) -> None:
    countdown = max(0.0, (outbound.release_at - now).total_seconds())
    deliver_outbound_task.apply_async_on_commit(  # type: ignore[attr-defined]  # celery-types lacks Celery 5.4's DjangoTask
        args=(outbound.pk,), countdown=countdown
    )


def queue_outbound(
    mention: Mention,
    *,
    channel: str,
    text: str,
    agent: User,
    now: datetime,
    delay_seconds: float = 0,
    recipient: str = "",
    subject: str = "",
    include_quote: bool = False,
    handoff: Handoff | None = None,
) -> Outbound:
    """Write the row (released after `delay_seconds`, the undo window) and schedule its delivery."""
    with transaction.atomic():
        outbound = Outbound.objects.create(
            mention=mention,
            channel=channel,
            text=text,
            agent=agent,
            recipient=recipient,
            subject=subject,
            include_quote=include_quote,
            handoff=handoff,
            release_at=now + timedelta(seconds=delay_seconds),
            created_at=now,
        )
        record_event(
            mention,
            EVENT_KINDS[channel],
            f"{outbound.get_channel_display()} queued",
            actor=agent,
            data=event_data(outbound),
            at=now,
        )
        _enqueue(outbound, now=now)
    return outbound


def queue_reply(
    mention: Mention,
    *,
    text: str,
    agent: User,
    now: datetime,
    handoff: Handoff | None = None,
) -> Outbound:
    """A public reply, held for the undo window (GuardSettings, default REPLY_UNDO_SECONDS)."""
    return queue_outbound(
        mention,
        channel=Outbound.Channel.REPLY,
        text=text,
        agent=agent,
        now=now,
        delay_seconds=GuardSettings.load().effective_undo_seconds(),
        handoff=handoff,
    )


def undo_outbound(outbound: Outbound, *, agent: User, now: datetime) -> bool:
    """Cancel a queued row before its release; False when the worker already has it."""
    with transaction.atomic():
        undone = Outbound.objects.filter(
            pk=outbound.pk, state=Outbound.State.QUEUED, release_at__gt=now
        ).update(state=Outbound.State.CANCELLED, cancelled_at=now)
        if not undone:
            return False
        outbound.refresh_from_db()
        record_event(
            outbound.mention,
            EVENT_KINDS[outbound.channel],
            f"{outbound.get_channel_display()} undone",
            actor=agent,
            data=event_data(outbound),
            at=now,
        )
        if (
            outbound.handoff_id is not None
            and outbound.channel != Outbound.Channel.REPLY
        ):
            Handoff.objects.filter(
                pk=outbound.handoff_id, status=Handoff.Status.PENDING
            ).update(status=Handoff.Status.FAILED, outcome="Undone by the agent.")
    return True


def retry_outbound(outbound: Outbound, *, agent: User, now: datetime) -> bool:
    """Send a failed, retryable row again (delivery reconciles first where it can)."""
    with transaction.atomic():
        retried = Outbound.objects.filter(
            pk=outbound.pk, state=Outbound.State.FAILED, is_retryable=True
        ).update(
            state=Outbound.State.QUEUED,
            release_at=now,
            failure_reason="",
            is_retryable=False,
        )
        if not retried:
            return False
        outbound.refresh_from_db()
        if (
            outbound.handoff_id is not None
            and outbound.channel != Outbound.Channel.REPLY
        ):
            Handoff.objects.filter(pk=outbound.handoff_id).update(
                status=Handoff.Status.PENDING, outcome=""
            )
        record_event(
            outbound.mention,
            EVENT_KINDS[outbound.channel],
            f"{outbound.get_channel_display()} retried",
            actor=agent,
            data=event_data(outbound),
            at=now,
        )
        _enqueue(outbound, now=now)
    return True
