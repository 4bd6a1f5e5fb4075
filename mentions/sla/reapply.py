"""Re-apply the SLA policies to open mentions (an admin's button after changing a policy).

A policy change applies to new mentions by itself (start_clocks matches at ingest). Open mentions
(new, open, waiting) keep the targets they started with until an admin asks for this; then each one is
matched again (tags added since ingest count) and:
- running clocks take the new policy's target and are recomputed from their original start (pauses
  still count); a breached clock whose new due time is in the future becomes active again, and one
  still overdue stays breached;
- a running clock whose target the new policy does not set (or with no policy at all) is cancelled;
- a target the mention never had (say a resolution target added to the policy) starts from the
  mention's created_at, unless the thread was already answered after that post.
Stopped clocks (met, cancelled) are history and never change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from mentions.models import Mention
from mentions.sla.businesstime import Calendar
from mentions.sla.calendars import active_policies, calendars_of
from mentions.sla.clocks import (
    CLOCK_FIELDS,
    OPEN_STATUSES,
    RESPONSE_TARGETS,
    MentionRow,
    State,
    Target,
    ThreadState,
    calendar_for,
    calendars_for_clocks,
    load_mentions,
    new_clock,
    refresh_due,
    share_of,
    stop,
    summary,
    thread_states,
    write_summaries,
)
from mentions.sla.models import SlaClock, SlaPolicy
from mentions.sla.policies import pick_policy, uses_tags

CHUNK = 1000


@dataclass(frozen=True)
class ReapplyChange:
    mention_id: int
    old_policy: str
    new_policy: str
    old_due_at: datetime | None
    new_due_at: datetime | None


def reapply_policies(*, now: datetime) -> list[ReapplyChange]:
    """Match every open mention again and update its running clocks; return what changed."""
    policies = active_policies()
    names = dict(SlaPolicy.objects.values_list("id", "name"))
    ids = list(
        Mention.objects.filter(status__in=OPEN_STATUSES)
        .order_by("id")
        .values_list("id", flat=True)
    )
    changes: list[ReapplyChange] = []
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            changes += _reapply_chunk(ids[start : start + CHUNK], policies, names, now)
    return changes


def _reapply_chunk(
    ids: list[int], policies: list[SlaPolicy], names: dict[int, str], now: datetime
) -> list[ReapplyChange]:
    rows = load_mentions(ids, with_tags=uses_tags(policies))
    clocks = list(
        SlaClock.objects.select_for_update().filter(mention_id__in=ids).order_by("id")
    )
    old_cals = calendars_for_clocks(clocks)
    new_cals = calendars_of(policies)
    threads = thread_states(r.thread_id for r in rows.values())
    by_mention: defaultdict[int, list[SlaClock]] = defaultdict(list)
    for clock in clocks:
        by_mention[clock.mention_id].append(clock)

    updated: list[SlaClock] = []
    created: list[SlaClock] = []
    changes: list[ReapplyChange] = []
    summaries = {}
    for mid in ids:
        row = rows.get(mid)
        if row is None:
            continue
        mine = by_mention[mid]
        running = [c for c in mine if c.is_running]
        old_due = summary(mine)[0]
        old_policy = next((c.policy_id for c in running), None)
        policy = pick_policy(policies, row.facts)
        touched = False
        for clock in running:
            before = (clock.due_at, clock.state, clock.stopped_at)
            spec = policy.target_seconds(clock.target) if policy else None
            if policy is None or spec is None:
                stop(
                    clock,
                    calendar_for(old_cals, clock),
                    now,
                    cancel=True,
                    share=share_of(clock.policy),
                )
            else:
                clock.policy = policy
                clock.target_seconds, clock.is_business_time = spec
                refresh_due(clock, new_cals[policy.pk], policy.warning_share)
                if clock.state == State.BREACHED and clock.due_at > now:
                    clock.state, clock.breached_at = State.ACTIVE, None
            touched |= before != (clock.due_at, clock.state, clock.stopped_at)
            updated.append(clock)
        fresh = (
            _missing_clocks(row, mine, policy, new_cals[policy.pk], threads, now)
            if policy
            else []
        )
        created += fresh
        new_due = summary([*mine, *fresh])[0]
        new_policy = policy.pk if policy else None
        reported = fresh or old_due != new_due or (running and old_policy != new_policy)
        if reported or touched:
            # Any clock that moved bumps the mention's updated_at with its summary, even when the
            # most urgent due time stays: the escalation sweep finds clock changes through it.
            summaries[mid] = summary([*mine, *fresh])
        if reported:
            changes.append(
                ReapplyChange(
                    mention_id=mid,
                    old_policy=names.get(old_policy, "none") if old_policy else "none",
                    new_policy=policy.name if policy else "none",
                    old_due_at=old_due,
                    new_due_at=new_due,
                )
            )
    SlaClock.objects.bulk_update(updated, CLOCK_FIELDS, batch_size=500)
    SlaClock.objects.bulk_create(created, batch_size=500)
    write_summaries(summaries)
    return changes


def _missing_clocks(
    row: MentionRow,
    clocks: list[SlaClock],
    policy: SlaPolicy,
    cal: Calendar,
    threads: dict[int, ThreadState],
    now: datetime,
) -> list[SlaClock]:
    paused_at = now if row.status == Mention.Status.WAITING else None
    out = []
    if not any(c.target == Target.RESOLUTION for c in clocks):
        clock = new_clock(
            mention_id=row.id,
            policy=policy,
            cal=cal,
            target=Target.RESOLUTION,
            cycle=1,
            started_at=row.created_at,
            paused_at=paused_at,
        )
        if clock:
            out.append(clock)
    thread = threads.get(row.thread_id)
    answered_after = (
        thread is not None
        and thread.last_answer_at is not None
        and thread.last_answer_at >= row.created_at
    )
    if not answered_after and not any(c.target in RESPONSE_TARGETS for c in clocks):
        if thread is not None and thread.last_answer_at is not None:
            target, cycle = Target.NEXT_RESPONSE, thread.max_next_cycle + 1
        else:
            target, cycle = Target.FIRST_RESPONSE, 1
        clock = new_clock(
            mention_id=row.id,
            policy=policy,
            cal=cal,
            target=target,
            cycle=cycle,
            started_at=row.created_at,
            paused_at=paused_at,
        )
        if clock:
            out.append(clock)
    return out
