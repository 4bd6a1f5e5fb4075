"""Clock building blocks shared by the SLA services: build, pause, resume, stop, and the loaders.

Everything here changes SlaClock instances in memory (callers save them in bulk) except the loaders
and `sync_mentions`, which write Mention.sla_due_at / sla_warning_at / sla_hint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Max, Q
from django.db.models.functions import Greatest, Now

from mentions.models import Mention
from mentions.sla import clockmath
from mentions.sla.businesstime import ALWAYS_OPEN, Calendar, business_seconds_between
from mentions.sla.calendars import calendars_of
from mentions.sla.models import SlaClock, SlaPolicy
from mentions.sla.policies import MentionFacts

State = SlaClock.State
Target = SlaClock.Target
RUNNING_STATES = (State.ACTIVE, State.PAUSED, State.BREACHED)
RESPONSE_TARGETS = (Target.FIRST_RESPONSE, Target.NEXT_RESPONSE)
DEFAULT_WARNING_SHARE = 75
OPEN_STATUSES = (Mention.Status.NEW, Mention.Status.OPEN, Mention.Status.WAITING)


def share_of(policy: SlaPolicy | None) -> int:
    return policy.warning_share if policy is not None else DEFAULT_WARNING_SHARE


def refresh_due(clock: SlaClock, cal: Calendar, share: int) -> None:
    """Recompute due_at, warning_at and the hover text from the start, target and pauses."""
    clock.due_at = clockmath.due_at(
        cal,
        clock.started_at,
        clock.target_seconds,
        business=clock.is_business_time,
        paused_seconds=clock.paused_seconds,
        paused_business_seconds=clock.paused_business_seconds,
    )
    clock.warning_at = clockmath.warning_at(
        cal,
        clock.due_at,
        clock.target_seconds,
        business=clock.is_business_time,
        share=share,
    )
    clock.due_hint = clockmath.hint(
        clock.target, clock.due_at, cal, business=clock.is_business_time
    )


def new_clock(
    *,
    mention_id: int,
    policy: SlaPolicy,
    cal: Calendar,
    target: str,
    cycle: int,
    started_at: datetime,
    paused_at: datetime | None = None,
) -> SlaClock | None:
    """An unsaved clock for `target` under `policy`, or None when the policy has no such target."""
    spec = policy.target_seconds(target)
    if spec is None:
        return None
    seconds, business = spec
    clock = SlaClock(
        mention_id=mention_id,
        policy=policy,
        target=target,
        cycle=cycle,
        state=State.PAUSED if paused_at else State.ACTIVE,
        is_business_time=business,
        target_seconds=seconds,
        started_at=started_at,
        paused_at=paused_at,
    )
    refresh_due(clock, cal, policy.warning_share)
    return clock


def close_pause(clock: SlaClock, cal: Calendar, at: datetime) -> None:
    """Add the pause that ends at `at` to the paused totals (due moves later on the next refresh)."""
    if clock.paused_at is None:
        return
    if at > clock.paused_at:
        clock.paused_seconds += int((at - clock.paused_at).total_seconds())
        clock.paused_business_seconds += business_seconds_between(
            cal, clock.paused_at, at
        )
    clock.paused_at = None


def pause(clock: SlaClock, at: datetime) -> bool:
    """Pause an active clock that is not yet overdue; a breached clock stays breached."""
    if clock.state != State.ACTIVE or clock.due_at <= at:
        return False
    clock.state = State.PAUSED
    clock.paused_at = at
    return True


def resume(clock: SlaClock, cal: Calendar, at: datetime, share: int) -> bool:
    if clock.state != State.PAUSED:
        return False
    close_pause(clock, cal, at)
    clock.state = State.ACTIVE
    refresh_due(clock, cal, share)
    return True


def stop(
    clock: SlaClock,
    cal: Calendar,
    at: datetime,
    *,
    cancel: bool = False,
    user: AbstractBaseUser | None = None,
    channel: str = "",
    share: int = DEFAULT_WARNING_SHARE,
) -> None:
    """Stop a running clock at `at`: met (late when past due) or cancelled; fills the figures."""
    if clock.paused_at is not None:
        close_pause(clock, cal, at)
        refresh_due(clock, cal, share)
    clock.stopped_at = at
    if cancel:
        clock.state = State.CANCELLED
    else:
        clock.state = State.MET
        clock.is_late = at > clock.due_at
        if clock.is_late and clock.breached_at is None:
            clock.breached_at = clock.due_at
    clock.stopped_by_id = user.pk if user is not None else None
    clock.stopped_by_channel = channel
    clock.elapsed_seconds, clock.elapsed_business_seconds = clockmath.elapsed(
        cal,
        clock.started_at,
        at,
        paused_seconds=clock.paused_seconds,
        paused_business_seconds=clock.paused_business_seconds,
    )


CLOCK_FIELDS = [
    "policy",
    "state",
    "is_business_time",
    "target_seconds",
    "due_at",
    "warning_at",
    "due_hint",
    "paused_at",
    "paused_seconds",
    "paused_business_seconds",
    "stopped_at",
    "breached_at",
    "is_late",
    "stopped_by",
    "stopped_by_channel",
    "elapsed_seconds",
    "elapsed_business_seconds",
]


def calendars_for_clocks(clocks: Sequence[SlaClock]) -> dict[int | None, Calendar]:
    """Calendar per policy id for these clocks (one query for policies + calendar rows)."""
    ids = {c.policy_id for c in clocks if c.policy_id is not None}
    policies = (
        SlaPolicy.objects.filter(id__in=ids)
        .select_related("calendar")
        .prefetch_related("calendar__intervals", "calendar__holidays")
    )
    by_id = {p.pk: p for p in policies}
    for clock in clocks:
        if clock.policy_id is not None:
            clock.policy = by_id[clock.policy_id]
    return calendars_of(by_id.values())


def calendar_for(cals: dict[int | None, Calendar], clock: SlaClock) -> Calendar:
    return cals.get(clock.policy_id, ALWAYS_OPEN)


@dataclass(frozen=True)
class ThreadState:
    last_answer_at: datetime | None
    max_next_cycle: int


def thread_states(thread_ids: Iterable[int]) -> dict[int, ThreadState]:
    """Per thread: when a human last answered it and the highest next-response cycle answered."""
    rows = (
        SlaClock.objects.filter(
            mention__thread_id__in=set(thread_ids), target__in=RESPONSE_TARGETS
        )
        .exclude(stopped_by_channel="")
        .values("mention__thread_id")
        .annotate(
            last=Max("stopped_at"),
            max_next=Max("cycle", filter=Q(target=Target.NEXT_RESPONSE)),
        )
    )
    return {
        r["mention__thread_id"]: ThreadState(r["last"], r["max_next"] or 0)
        for r in rows
    }


@dataclass
class MentionRow:
    id: int
    thread_id: int
    status: str
    created_at: datetime
    facts: MentionFacts


def load_mentions(ids: Iterable[int], *, with_tags: bool) -> dict[int, MentionRow]:
    """Mentions with author and stream facts in one query (+1 for tags when a policy needs them)."""
    rows = Mention.objects.filter(id__in=list(ids)).values_list(
        "id",
        "thread_id",
        "status",
        "created_at",
        "kind",
        "account_id",
        "priority",
        "lang",
        "author__followers_count",
        "author__verified",
        "mentionstream__stream_id",
    )
    streams: defaultdict[int, set[int]] = defaultdict(set)
    base: dict[int, tuple[object, ...]] = {}
    for row in rows:
        base[row[0]] = row
        if row[10] is not None:
            streams[row[0]].add(row[10])
    tags: defaultdict[int, set[str]] = defaultdict(set)
    if with_tags and base:
        through = Mention.tags.through.objects.filter(mention_id__in=list(base))
        for mention_id, name in through.values_list("mention_id", "tag__name"):
            tags[mention_id].add(name.lower())
    out = {}
    for mid, r in base.items():
        out[mid] = MentionRow(
            id=mid,
            thread_id=r[1],  # type: ignore[arg-type]  # values_list rows are loosely typed
            status=r[2],  # type: ignore[arg-type]
            created_at=r[3],  # type: ignore[arg-type]
            facts=MentionFacts(
                stream_ids=frozenset(streams[mid]),
                account_id=r[5],  # type: ignore[arg-type]
                kind=r[4],  # type: ignore[arg-type]
                priority=r[6],  # type: ignore[arg-type]
                followers=r[8],  # type: ignore[arg-type]
                verified=r[9],  # type: ignore[arg-type]
                lang=r[7] or "",  # type: ignore[arg-type]
                tags=frozenset(tags[mid]),
            ),
        )
    return out


def summary(clocks: Iterable[SlaClock]) -> tuple[datetime | None, datetime | None, str]:
    """(due, warning, hint) of the most urgent running, unpaused clock; (None, None, "") if none."""
    running = [
        c
        for c in clocks
        if c.stopped_at is None and c.state in (State.ACTIVE, State.BREACHED)
    ]
    if not running:
        return None, None, ""
    first = min(running, key=lambda c: (c.due_at, c.pk or 0))
    return first.due_at, first.warning_at, first.due_hint


def sync_mentions(mention_ids: Iterable[int], *, known: Iterable[Mention] = ()) -> None:
    """Write each mention's sla_due_at / sla_warning_at / sla_hint from its running clocks."""
    ids = set(mention_ids)
    if not ids:
        return
    by_mention: defaultdict[int, list[SlaClock]] = defaultdict(list)
    for clock in SlaClock.objects.filter(
        mention_id__in=ids,
        state__in=(State.ACTIVE, State.BREACHED),
        stopped_at__isnull=True,
    ).only(
        "id", "mention_id", "state", "due_at", "warning_at", "due_hint", "stopped_at"
    ):
        by_mention[clock.mention_id].append(clock)
    write_summaries({mid: summary(by_mention[mid]) for mid in ids}, known=known)


def write_summaries(
    summaries: dict[int, tuple[datetime | None, datetime | None, str]],
    *,
    known: Iterable[Mention] = (),
) -> None:
    # updated_at moves too: the open queues' live poll and the escalation quick sweep read it. Never
    # backwards: a triage service may already have stamped it with its own `now` in this transaction.
    changed_at = Greatest(F("updated_at"), Now())
    rows = [
        Mention(
            id=mid,
            sla_due_at=due,
            sla_warning_at=warn,
            sla_hint=text,
            updated_at=changed_at,
        )
        for mid, (due, warn, text) in summaries.items()
    ]
    Mention.objects.bulk_update(
        rows,
        ["sla_due_at", "sla_warning_at", "sla_hint", "updated_at"],
        batch_size=500,
    )
    # Keep the caller's instances in step so a page rendered after the service shows the new due.
    for mention in known:
        if mention.pk in summaries:
            due, warn, text = summaries[mention.pk]
            mention.sla_due_at, mention.sla_warning_at, mention.sla_hint = (
                due,
                warn,
                text,
            )
