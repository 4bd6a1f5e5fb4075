"""SLA clock services: the functions other parts call when something happens to a mention.

The public API (other modules call exactly these; keep the signatures):
- `start_clocks(mention_ids, now=...)`: at ingest, in the ingest transaction, in bulk.
- `record_human_answer(mention, at=..., channel=..., user=...)`: responders, when X accepted a reply
  or DM, an email was sent, or a phone call was logged as reached.
- `on_status_change(mention, old=..., new=..., now=...)`: triage, after a status change.
- `mark_breaches(now=...)`: the escalation sweep, before it evaluates rules.
`reapply_policies` (mentions/sla/reapply.py) re-matches open mentions after a policy change.

Choices (docs/sla.md explains them to users):
- Every customer post gets its own response clock: first response while the thread has never had a
  human answer, else next response cycle n (n = the highest answered next-response cycle + 1). One human
  answer stops the response clocks of all the thread's posts that started at or before it, so the
  oldest unanswered post is the one that drives (and breaches) the thread.
- Waiting pauses active clocks; an already breached clock stays breached (it cannot be un-breached).
- Resolved stops the resolution clock (met, or met late) and cancels response clocks no answer
  stopped; reopening starts a new resolution cycle from the reopening and revives those response
  clocks. Monitoring and spam cancel running clocks; leaving them revives the cancelled clocks with
  their original due times (the customer kept waiting meanwhile).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from mentions.history import record_event
from mentions.models import Mention, MentionEvent
from mentions.sla import clockmath, start
from mentions.sla.calendars import active_policies, calendars_of
from mentions.sla.clocks import (
    CLOCK_FIELDS,
    RESPONSE_TARGETS,
    RUNNING_STATES,
    State,
    Target,
    calendar_for,
    calendars_for_clocks,
    load_mentions,
    new_clock,
    pause,
    resume,
    share_of,
    stop,
    sync_mentions,
)
from mentions.sla.models import SlaClock
from mentions.sla.policies import pick_policy, uses_tags

CHANNELS = ("reply", "dm", "email", "phone")
Status = Mention.Status


def start_clocks(mention_ids: Sequence[int], *, now: datetime) -> None:
    """Match each new mention to a policy and start its clocks; set Mention.sla_due_at.

    Bulk and cheap (mentions/sla/start.py): ingest calls it for every page in its transaction.
    """
    start.start_clocks(mention_ids, now=now)


@transaction.atomic
def record_human_answer(
    mention: Mention,
    *,
    at: datetime,
    channel: str,
    user: AbstractBaseUser | None = None,
) -> None:
    """Stop the running response clocks of the mention's thread that started at or before `at`."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    clocks = list(
        # of=("self",): lock the clocks only, not the joined mention rows ingest may be writing.
        SlaClock.objects.select_for_update(of=("self",))
        .filter(
            mention__thread_id=mention.thread_id,
            target__in=RESPONSE_TARGETS,
            state__in=RUNNING_STATES,
            stopped_at__isnull=True,
            started_at__lte=at,
        )
        .order_by("id")
    )
    if not clocks:
        return
    cals = calendars_for_clocks(clocks)
    for clock in clocks:
        stop(
            clock,
            calendar_for(cals, clock),
            at,
            user=user,
            channel=channel,
            share=share_of(clock.policy),
        )
    SlaClock.objects.bulk_update(clocks, CLOCK_FIELDS)
    for clock in clocks:
        _record_stop(clock, actor=user)
    sync_mentions({c.mention_id for c in clocks}, known=[mention])


def on_status_change(mention: Mention, *, old: str, new: str, now: datetime) -> None:
    """Pause (waiting), resume, stop (resolved) or cancel (monitoring, spam) the mention's clocks."""
    if old == new:
        return
    with transaction.atomic():
        clocks = list(
            SlaClock.objects.select_for_update()
            .filter(mention_id=mention.pk)
            .order_by("id")
        )
        cals = calendars_for_clocks(clocks)
        changed: list[SlaClock] = []
        created: list[SlaClock] = []
        running = [c for c in clocks if c.is_running]

        if new in (Status.MONITORING, Status.SPAM):
            for clock in running:
                stop(
                    clock,
                    calendar_for(cals, clock),
                    now,
                    cancel=True,
                    share=share_of(clock.policy),
                )
                changed.append(clock)
        elif new == Status.RESOLVED:
            for clock in running:
                is_resolution = clock.target == Target.RESOLUTION
                stop(
                    clock,
                    calendar_for(cals, clock),
                    now,
                    cancel=not is_resolution,
                    share=share_of(clock.policy),
                )
                changed.append(clock)
        else:  # new, open or waiting
            if old in (Status.RESOLVED, Status.MONITORING, Status.SPAM):
                # Reopening starts a new resolution cycle, so only response clocks are revived then.
                changed += _revive(
                    clocks,
                    now,
                    targets=RESPONSE_TARGETS
                    if old == Status.RESOLVED
                    else tuple(Target),
                )
                if old == Status.RESOLVED:
                    created += _reopen_resolution(mention, clocks, now)
            if new == Status.WAITING:
                changed += [c for c in clocks if pause(c, now)]
                for clock in created:
                    pause(clock, now)
            elif old == Status.WAITING:
                changed += [
                    c
                    for c in clocks
                    if resume(c, calendar_for(cals, c), now, share_of(c.policy))
                ]

        changed = list({c.pk: c for c in changed}.values())
        SlaClock.objects.bulk_update(changed, CLOCK_FIELDS)
        SlaClock.objects.bulk_create(created)
        for clock in changed:
            if clock.state == State.MET:
                _record_stop(clock, actor=None)
        sync_mentions([mention.pk], known=[mention])


def _revive(
    clocks: list[SlaClock], now: datetime, *, targets: tuple[str, ...]
) -> list[SlaClock]:
    """Run again the clocks cancelled by the mention's latest cancellation, with their due times."""
    cancelled = [
        c
        for c in clocks
        if c.state == State.CANCELLED and c.stopped_at and c.target in targets
    ]
    if not cancelled:
        return []
    last = max(c.stopped_at for c in cancelled if c.stopped_at is not None)
    revived = []
    for clock in cancelled:
        if clock.stopped_at != last:
            continue
        clock.state = State.BREACHED if clock.breached_at else State.ACTIVE
        clock.stopped_at = None
        clock.elapsed_seconds = clock.elapsed_business_seconds = None
        revived.append(clock)
    return revived


def _reopen_resolution(
    mention: Mention, clocks: list[SlaClock], now: datetime
) -> list[SlaClock]:
    """A new resolution cycle starting now, under the policy the mention matches today."""
    policies = active_policies()
    row = load_mentions([mention.pk], with_tags=uses_tags(policies)).get(mention.pk)
    policy = pick_policy(policies, row.facts) if row else None
    if policy is None:
        return []
    cycle = 1 + max(
        (c.cycle for c in clocks if c.target == Target.RESOLUTION), default=0
    )
    clock = new_clock(
        mention_id=mention.pk,
        policy=policy,
        cal=calendars_of([policy])[policy.pk],
        target=Target.RESOLUTION,
        cycle=cycle,
        started_at=now,
    )
    return [clock] if clock is not None else []


def _record_stop(clock: SlaClock, *, actor: AbstractBaseUser | None) -> None:
    label = clockmath.TARGET_LABELS[clock.target]
    minutes = (clock.elapsed_seconds or 0) // 60
    outcome = "met late" if clock.is_late else "met"
    via = f" by {clock.stopped_by_channel}" if clock.stopped_by_channel else ""
    record_event(
        clock.mention_id,
        MentionEvent.Kind.SLA,
        f"{label} {outcome}{via} after {minutes} min",
        actor=actor,
        data={
            "clock": clock.pk,
            "target": clock.target,
            "cycle": clock.cycle,
            "is_late": clock.is_late,
        },
        at=clock.stopped_at,
    )


def mark_breaches(*, now: datetime) -> list[int]:
    """Mark running clocks past their due time as breached; return the ids newly breached.

    One conditional UPDATE ... RETURNING: when two sweeps race, the second blocks on the rows the first
    changed, re-checks `state = 'active'` and skips them, so each clock is reported exactly once.
    """
    table = SlaClock._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, breached_at = %s "  # noqa: S608  # table name is ours
            "WHERE state = %s AND stopped_at IS NULL AND due_at <= %s "
            "RETURNING id, mention_id, target, cycle",
            [State.BREACHED.value, now, State.ACTIVE.value, now],
        )
        rows = cursor.fetchall()
        MentionEvent.objects.bulk_create(
            [
                MentionEvent(
                    mention_id=mention_id,
                    kind=MentionEvent.Kind.SLA,
                    message=f"{clockmath.TARGET_LABELS.get(target, target)} breached",
                    data={"clock": clock_id, "target": target, "cycle": cycle},
                    created_at=now,
                )
                for clock_id, mention_id, target, cycle in rows
            ],
            batch_size=1000,
        )
    return sorted(row[0] for row in rows)
