"""Delivering an Outbound exactly once (DESIGN invariant 2).

1. The row is written first (responders/replies.py); a task runs after the undo window.
2. A worker claims it with one conditional UPDATE: `queued` and released, or `sending` with an expired
   lease (the previous worker died). 0 rows means someone else has it or the agent undid it.
3. If an earlier attempt may have reached the other side (this is not the first attempt), the channel
   reconciles first: for X, look for the brand's reply to that post (or DM to that user) with the same
   text, and record it as sent instead of posting again. Email cannot be reconciled: a stalled email is
   failed with "may have been sent" for the agent to check, never resent blindly.
4. Every write after the claim is fenced on `lease_owner`, so a worker whose lease was taken over cannot
   overwrite the new owner's result.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from mentions.history import record_event
from mentions.models import MentionEvent
from mentions.sla import services as sla
from mentions.sources.x import REAL_API_HOST
from responders.channels.base import Channel, ChannelError, SentMessage
from responders.channels.email import EmailChannel
from responders.channels.phone import PhoneChannel
from responders.channels.x_dm import XDmChannel
from responders.channels.x_reply import XReplyChannel
from responders.models import Handoff, Outbound

logger = logging.getLogger(__name__)

MAX_AUTO_ATTEMPTS = 3
STALL_GRACE = timedelta(seconds=60)
HANDOFF_WAIT_SECONDS = 2.0  # a released row no task picked up by then was lost

CHANNELS: dict[str, Channel] = {
    Outbound.Channel.REPLY: XReplyChannel(),
    Outbound.Channel.DM: XDmChannel(),
    Outbound.Channel.EMAIL: EmailChannel(),
    Outbound.Channel.PHONE: PhoneChannel(),
}

EVENT_KINDS: dict[str, MentionEvent.Kind] = {
    Outbound.Channel.REPLY: MentionEvent.Kind.REPLY,
    Outbound.Channel.DM: MentionEvent.Kind.DM,
    Outbound.Channel.EMAIL: MentionEvent.Kind.EMAIL,
    Outbound.Channel.PHONE: MentionEvent.Kind.PHONE,
}


# The real X's recent search shows a new post after up to ~30 s; reconciliation must not look sooner.
REAL_X_SEARCH_LAG = 35.0


def lease_length() -> timedelta:
    """Longer than one attempt can take (a reconciliation read plus a send, each bounded by a timeout).

    A dead worker's row is retried only after its lease, so on the real X the lease also covers the
    search index lag; the sandbox X API indexes at once.
    """
    timeout = max(float(settings.X_API_TIMEOUT), float(settings.EMAIL_TIMEOUT or 0))
    seconds = 2 * timeout + 5
    if settings.X_API_BASE_URL.rstrip("/") == REAL_API_HOST:
        seconds = max(seconds, REAL_X_SEARCH_LAG)
    return timedelta(seconds=seconds)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def event_data(outbound: Outbound) -> dict[str, object]:
    return {
        "outbound_id": outbound.pk,
        "state": outbound.state,
        "url": outbound.url,
        "channel": outbound.channel,
        # Lets the workspace (mentions never imports responders) show the customer's DM answers,
        # which ingest files under this conversation id, in the original mention's thread.
        "dm_conversation_id": outbound.dm_conversation_id,
        "handoff_id": outbound.handoff_id,
    }


def _seconds_until(when: datetime | None, now: datetime) -> float:
    if when is None:
        return 1.0
    return max(0.5, (when - now).total_seconds() + 0.5)


def deliver_outbound(outbound_id: int, *, now: datetime, owner: str) -> float | None:
    """Try to deliver one outbound; returns seconds until the task should look again, or None (done)."""
    row = Outbound.objects.filter(pk=outbound_id).first()
    if row is None or row.is_final:
        return None
    if row.state == Outbound.State.QUEUED and row.release_at > now:
        return _seconds_until(row.release_at, now)
    if (
        row.state == Outbound.State.SENDING
        and row.lease_expires_at is not None
        and row.lease_expires_at > now
    ):
        return _seconds_until(row.lease_expires_at, now)
    if (
        row.state == Outbound.State.QUEUED
        and row.channel == Outbound.Channel.REPLY
        and row.handoff_id is not None
        and Handoff.objects.filter(
            pk=row.handoff_id, status=Handoff.Status.PENDING
        ).exists()
    ):
        # "We've sent you a DM" waits until the DM (or email) has really left.
        return HANDOFF_WAIT_SECONDS
    was_stalled = row.state == Outbound.State.SENDING
    claimed = (
        Outbound.objects.filter(pk=outbound_id)
        .filter(
            Q(state=Outbound.State.QUEUED, release_at__lte=now)
            | Q(state=Outbound.State.SENDING, lease_expires_at__lte=now)
        )
        .update(
            state=Outbound.State.SENDING,
            lease_owner=owner,
            lease_expires_at=now + lease_length(),
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None  # undone, or another worker claimed it a moment ago
    row.refresh_from_db()
    channel = CHANNELS[row.channel]
    try:
        sent: SentMessage | None = None
        if row.attempts > 1 and channel.can_reconcile:
            sent = channel.find_sent(row, now=now)
            if sent is not None:
                logger.info("outbound %s: found on X after a lost attempt", row.pk)
        elif was_stalled:
            _fail(
                row,
                owner,
                now,
                "The worker stopped while sending; it may have been delivered. "
                "Check before retrying.",
                retryable=True,
            )
            return None
        if sent is None:
            sent = channel.send(row, now=now)
    except ChannelError as exc:
        return _after_error(row, owner, now, exc)
    _mark_sent(row, owner, now, sent)
    return None


def _fenced(row: Outbound, owner: str) -> Q:
    return Q(pk=row.pk, state=Outbound.State.SENDING, lease_owner=owner)


def _mark_sent(row: Outbound, owner: str, now: datetime, sent: SentMessage) -> None:
    with transaction.atomic():
        updated = Outbound.objects.filter(_fenced(row, owner)).update(
            state=Outbound.State.SENT,
            external_id=sent.external_id,
            url=sent.url,
            dm_conversation_id=sent.dm_conversation_id,
            sent_at=now,
            failure_reason="",
            is_retryable=False,
            lease_expires_at=None,
        )
        if not updated:
            logger.warning(
                "outbound %s: lease lost before recording it as sent", row.pk
            )
            return
        row.refresh_from_db()
        if row.handoff_id is not None:
            Handoff.objects.filter(
                pk=row.handoff_id, status=Handoff.Status.PENDING
            ).update(status=Handoff.Status.OPEN)
            if sent.dm_conversation_id:
                Handoff.objects.filter(pk=row.handoff_id).update(
                    dm_conversation_id=sent.dm_conversation_id
                )
        record_event(
            row.mention,
            EVENT_KINDS[row.channel],
            f"{row.get_channel_display()} sent",
            actor=row.agent,
            data=event_data(row),
            at=now,
        )
        # A human answer that X accepted (or an email that left) stops the response clock.
        sla.record_human_answer(
            row.mention, at=now, channel=row.channel, user=row.agent
        )


def _after_error(
    row: Outbound, owner: str, now: datetime, exc: ChannelError
) -> float | None:
    if not exc.permanent and row.attempts < MAX_AUTO_ATTEMPTS:
        retry_at = exc.retry_at or now + timedelta(seconds=5 * 2 ** (row.attempts - 1))
        updated = Outbound.objects.filter(_fenced(row, owner)).update(
            state=Outbound.State.QUEUED,
            release_at=retry_at,
            failure_reason=f"Retrying: {exc.message}",
            lease_expires_at=None,
        )
        return _seconds_until(retry_at, now) if updated else None
    _fail(row, owner, now, exc.message, retryable=not exc.permanent)
    return None


def _fail(
    row: Outbound, owner: str, now: datetime, reason: str, *, retryable: bool
) -> None:
    with transaction.atomic():
        updated = Outbound.objects.filter(_fenced(row, owner)).update(
            state=Outbound.State.FAILED,
            failure_reason=reason,
            is_retryable=retryable,
            lease_expires_at=None,
        )
        if not updated:
            return
        row.refresh_from_db()
        if row.handoff_id is not None and row.channel in (
            Outbound.Channel.DM,
            Outbound.Channel.EMAIL,
        ):
            # The public "we've sent you a DM" must not go out when the DM did not.
            Handoff.objects.filter(pk=row.handoff_id).update(
                status=Handoff.Status.FAILED, outcome=reason
            )
            Outbound.objects.filter(
                handoff_id=row.handoff_id,
                channel=Outbound.Channel.REPLY,
                state=Outbound.State.QUEUED,
            ).update(
                state=Outbound.State.CANCELLED,
                cancelled_at=now,
                failure_reason="Not sent: the hand-off message failed.",
            )
        record_event(
            row.mention,
            EVENT_KINDS[row.channel],
            f"{row.get_channel_display()} failed: {reason}",
            actor=row.agent,
            data=event_data(row) | {"reason": reason, "retryable": retryable},
            at=now,
        )


def stalled_ids(*, now: datetime) -> list[int]:
    """Rows a lost task or a dead worker left behind: released but unclaimed, or with an expired lease."""
    return list(
        Outbound.objects.filter(
            Q(state=Outbound.State.QUEUED, release_at__lte=now - STALL_GRACE)
            | Q(state=Outbound.State.SENDING, lease_expires_at__lte=now)
        ).values_list("pk", flat=True)[:500]
    )
