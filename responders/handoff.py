"""Moving a conversation off the timeline: DM, email, phone callback, and "take offline" in one step.

A DM or email hand-off is a Handoff row plus an Outbound that the worker delivers at once (no undo window:
only public replies get one). The Handoff is `pending` until the message leaves, then `open` until an agent
resolves it; if the message fails, the hand-off is `failed` with X's or the mail server's reason and the
mention is otherwise untouched. After a hand-off is resolved the composer suggests, never demands, a short
public follow-up.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from mentions.history import record_event
from mentions.models import Mention, MentionEvent
from mentions.sla import services as sla
from responders.models import Handoff, Outbound
from responders.replies import queue_outbound, queue_reply


def _record(handoff: Handoff, message: str, *, agent: User, now: datetime) -> None:
    record_event(
        handoff.mention,
        MentionEvent.Kind.HANDOFF,
        message,
        actor=agent,
        data={
            "handoff_id": handoff.pk,
            "channel": handoff.channel,
            "status": handoff.status,
            "promised_at": handoff.promised_at.isoformat()
            if handoff.promised_at
            else None,
        },
        at=now,
    )


def start_dm_handoff(
    mention: Mention,
    *,
    text: str,
    agent: User,
    now: datetime,
    promised_at: datetime | None = None,
    public_text: str = "",
) -> Handoff:
    """DM the mention's author from the brand account; with `public_text`, also reply publicly."""
    with transaction.atomic():
        handoff = Handoff.objects.create(
            mention=mention,
            channel=Handoff.Channel.DM,
            contact=f"@{mention.author.handle}",
            promised_at=promised_at,
            agent=agent,
            created_at=now,
        )
        _record(
            handoff, f"Moved to DM with @{mention.author.handle}", agent=agent, now=now
        )
        queue_outbound(
            mention,
            channel=Outbound.Channel.DM,
            text=text,
            agent=agent,
            now=now,
            recipient=mention.author.x_id,
            handoff=handoff,
        )
        if public_text:
            queue_reply(
                mention, text=public_text, agent=agent, now=now, handoff=handoff
            )
    return handoff


def start_email_handoff(
    mention: Mention,
    *,
    address: str,
    subject: str,
    text: str,
    agent: User,
    now: datetime,
    include_quote: bool = False,
    promised_at: datetime | None = None,
    public_text: str = "",
) -> Handoff:
    """Email the address the customer gave (no quote of their post unless asked for)."""
    with transaction.atomic():
        handoff = Handoff.objects.create(
            mention=mention,
            channel=Handoff.Channel.EMAIL,
            contact=address,
            promised_at=promised_at,
            agent=agent,
            created_at=now,
        )
        _record(handoff, f"Moved to email ({address})", agent=agent, now=now)
        queue_outbound(
            mention,
            channel=Outbound.Channel.EMAIL,
            text=text,
            agent=agent,
            now=now,
            recipient=address,
            subject=subject,
            include_quote=include_quote,
            handoff=handoff,
        )
        if public_text:
            queue_reply(
                mention, text=public_text, agent=agent, now=now, handoff=handoff
            )
    return handoff


def log_callback(
    mention: Mention,
    *,
    number: str,
    promised_at: datetime | None,
    agent: User,
    now: datetime,
    notes: str = "",
) -> Handoff:
    """Promise a call back on `number` (already normalised to E.164)."""
    with transaction.atomic():
        handoff = Handoff.objects.create(
            mention=mention,
            channel=Handoff.Channel.PHONE,
            contact=number,
            promised_at=promised_at,
            status=Handoff.Status.OPEN,
            outcome=notes,
            agent=agent,
            created_at=now,
        )
        _record(handoff, f"Callback promised on {number}", agent=agent, now=now)
    return handoff


def record_call(
    handoff: Handoff,
    *,
    outcome: str,
    notes: str,
    agent: User,
    now: datetime,
) -> None:
    """Log a call attempt. "Reached" records the call as a human answer (it stops the response clock)
    and resolves the hand-off; other outcomes keep it open."""
    with transaction.atomic():
        handoff.call_outcome = outcome
        label = Handoff.CallOutcome(outcome).label
        handoff.outcome = "\n".join(
            p for p in (handoff.outcome, f"{label}: {notes}".strip(": ")) if p
        )
        if outcome == Handoff.CallOutcome.REACHED:
            handoff.status = Handoff.Status.DONE
            handoff.resolved_at = now
            Outbound.objects.create(
                mention=handoff.mention,
                handoff=handoff,
                channel=Outbound.Channel.PHONE,
                text=notes or label,
                recipient=handoff.contact,
                agent=agent,
                state=Outbound.State.SENT,
                release_at=now,
                sent_at=now,
                created_at=now,
            )
            sla.record_human_answer(
                handoff.mention, at=now, channel="phone", user=agent
            )
        handoff.save(update_fields=["call_outcome", "outcome", "status", "resolved_at"])
        record_event(
            handoff.mention,
            MentionEvent.Kind.PHONE,
            f"Call to {handoff.contact}: {label}" + (f" — {notes}" if notes else ""),
            actor=agent,
            data={"handoff_id": handoff.pk, "outcome": outcome},
            at=now,
        )


def resolve_handoff(
    handoff: Handoff, *, outcome: str, agent: User, now: datetime
) -> bool:
    with transaction.atomic():
        done = Handoff.objects.filter(pk=handoff.pk, status=Handoff.Status.OPEN).update(
            status=Handoff.Status.DONE, outcome=outcome, resolved_at=now
        )
        if done:
            handoff.refresh_from_db()
            _record(
                handoff,
                f"Hand-off resolved: {outcome}" if outcome else "Hand-off resolved",
                agent=agent,
                now=now,
            )
    return bool(done)


def dismiss_followup(handoff: Handoff) -> None:
    Handoff.objects.filter(pk=handoff.pk).update(is_followup_dismissed=True)


def followup_due(mention: Mention) -> Handoff | None:
    """The resolved hand-off still worth a public follow-up: none sent or queued since it was resolved."""
    for handoff in mention.handoffs.filter(
        status=Handoff.Status.DONE, is_followup_dismissed=False
    ).order_by("-resolved_at"):
        later = Outbound.objects.filter(
            mention__thread_id=mention.thread_id,
            channel=Outbound.Channel.REPLY,
            created_at__gte=handoff.resolved_at,
        ).exclude(state=Outbound.State.CANCELLED)
        if not later.exists():
            return handoff
    return None


def dm_answers(handoff: Handoff) -> QuerySet[Mention]:
    """The customer's DMs in the conversation our hand-off DM opened (ingest stores them as kind=dm)."""
    if not handoff.dm_conversation_id:
        return Mention.objects.none()
    return Mention.objects.filter(
        kind=Mention.Kind.DM,
        conversation_id=handoff.dm_conversation_id,
        author_id=handoff.mention.author_id,
    ).order_by("created_at")
