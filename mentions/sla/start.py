"""Starting the SLA clocks of new mentions: `plan_new` before the insert, `start_clocks` after it.

Scoring + SLA together may cost at most 30% of the ingest rate, so on PostgreSQL ingest does not call
`start_clocks`: while it prepares a page (off the database's path) it matches each new mention to a
policy and computes its due times with `plan_new`, and the page's one statement writes the mentions
with their due times and inserts their clocks (mentions/ingest.py). Nothing is written twice.

`start_clocks` does the same for mentions that are already stored: the embedded SQLite's ingest path
and anything else that creates mentions. On PostgreSQL it is three round trips whatever the page size:
the policy-set version check (policies and calendars are cached until one changes), one query for the
mentions with their authors, streams, tags and thread answers, and one statement that inserts the
clocks and sets the mentions' due times. Other databases take the ORM path. Both pick the response
target the same way (`NewMention.last_answer_at`, see NewPlan) and tests/mentions/test_ingest_sla.py
holds the two paths to the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from mentions.models import Mention
from mentions.sla import clockmath
from mentions.sla.businesstime import Calendar
from mentions.sla.calendars import PolicySet, policy_set
from mentions.sla.clocks import (
    MentionRow,
    State,
    Target,
    load_mentions,
    thread_states,
    write_summaries,
)
from mentions.sla.models import SlaClock, SlaPolicy
from mentions.sla.policies import MentionFacts, pick_policy

WORKING = (Mention.Status.NEW, Mention.Status.OPEN)


@dataclass(frozen=True, slots=True)
class Plan:
    """A clock to insert (the columns start_clocks writes)."""

    mention_id: int
    policy_id: int
    target: str
    cycle: int
    business: bool
    seconds: int
    started_at: datetime
    due_at: datetime
    warning_at: datetime
    due_hint: str


@dataclass(frozen=True, slots=True)
class NewMention:
    row: MentionRow
    last_answer_at: datetime | None
    max_next_cycle: int


def start_clocks(mention_ids: Sequence[int], *, now: datetime) -> None:
    """Match each new mention to a policy and start its clocks; set Mention.sla_due_at."""
    ids = list(mention_ids)
    if not ids:
        return
    pset = policy_set()
    if not pset.policies:
        return
    postgres = connection.vendor == "postgresql"
    mentions = _load_postgres(ids) if postgres else _load_portable(ids, pset.uses_tags)
    plans: list[Plan] = []
    for new in sorted(mentions, key=lambda n: n.row.id):
        policy = pick_policy(pset.policies, new.row.facts)
        if policy is None:
            continue
        if new.last_answer_at is not None:
            response, cycle = Target.NEXT_RESPONSE, new.max_next_cycle + 1
        else:
            response, cycle = Target.FIRST_RESPONSE, 1
        cal = pset.calendars[policy.pk]
        for target, n in ((response, cycle), (Target.RESOLUTION, 1)):
            plan = _plan(new.row, policy, cal, target, n)
            if plan is not None:
                plans.append(plan)
    if not plans:
        return
    summaries = _summaries(plans)
    if postgres:
        _insert_postgres(plans, summaries)
    else:
        SlaClock.objects.bulk_create(
            SlaClock(
                mention_id=p.mention_id,
                policy_id=p.policy_id,
                target=p.target,
                cycle=p.cycle,
                state=State.ACTIVE,
                is_business_time=p.business,
                target_seconds=p.seconds,
                started_at=p.started_at,
                due_at=p.due_at,
                warning_at=p.warning_at,
                due_hint=p.due_hint,
            )
            for p in plans
        )
        write_summaries(summaries)


@dataclass(frozen=True, slots=True)
class Due:
    """One target's clock for a mention posted at a given time: what a clock row and its summary hold."""

    seconds: int
    business: bool
    due_at: datetime
    warning_at: datetime
    hint: str


def _due(
    policy: SlaPolicy, cal: Calendar, target: str, started_at: datetime
) -> Due | None:
    spec = policy.target_seconds(target)
    if spec is None:
        return None
    seconds, business = spec
    due = clockmath.due_at(cal, started_at, seconds, business=business)
    return Due(
        seconds=seconds,
        business=business,
        due_at=due,
        warning_at=clockmath.warning_at(
            cal, due, seconds, business=business, share=policy.warning_share
        ),
        hint=_hint(target, due, cal, business),
    )


def _hint(target: str, due: datetime, cal: Calendar, business: bool) -> str:
    """clockmath.hint, remembered per minute: the text shows the due time to the minute, and the posts
    of a page mostly fall due in the same few minutes (ingest plans two or three clocks a mention)."""
    key = (
        target,
        due.replace(second=0, microsecond=0),
        cal.time_zone,
        cal.always_open,
        business,
    )
    text = _HINTS.get(key)
    if text is None:
        if len(_HINTS) >= 4096:
            _HINTS.clear()
        text = _HINTS[key] = clockmath.hint(target, due, cal, business=business)
    return text


_HINTS: dict[tuple[str, datetime, str, bool, bool], str] = {}


def _plan(
    row: MentionRow, policy: SlaPolicy, cal: Calendar, target: str, cycle: int
) -> Plan | None:
    due = _due(policy, cal, target, row.created_at)
    if due is None:
        return None
    return Plan(
        mention_id=row.id,
        policy_id=policy.pk,
        target=target,
        cycle=cycle,
        business=due.business,
        seconds=due.seconds,
        started_at=row.created_at,
        due_at=due.due_at,
        warning_at=due.warning_at,
        due_hint=due.hint,
    )


@dataclass(frozen=True, slots=True)
class NewPlan:
    """The clocks of a mention that is not stored yet, for every case ingest may find in the database.

    Which response clock starts depends on the thread: after a human answer in the same thread it is
    the next response (cycle = the thread's highest + 1), else the first response. Ingest's statement
    reads the thread and picks (mentions/ingest.py), with the rule start_clocks applies below.
    """

    policy_id: int
    first: Due | None
    next: Due | None
    resolution: Due | None


def plan_new(
    pset: PolicySet,
    facts: MentionFacts,
    created_at: datetime,
    *,
    may_follow_up: bool = True,
) -> NewPlan | None:
    """Match a new mention (status new, no tags yet) to a policy; None when no policy applies.

    Pure: no database access (ingest calls it while it prepares a page, off the database's path).
    `may_follow_up=False` skips the next-response clock for a post that opens its conversation: no
    earlier post of its thread can have been answered.
    """
    policy = pick_policy(pset.policies, facts)
    if policy is None:
        return None
    cal = pset.calendars[policy.pk]
    return NewPlan(
        policy_id=policy.pk,
        first=_due(policy, cal, Target.FIRST_RESPONSE, created_at),
        next=_due(policy, cal, Target.NEXT_RESPONSE, created_at)
        if may_follow_up
        else None,
        resolution=_due(policy, cal, Target.RESOLUTION, created_at),
    )


def _summaries(
    plans: list[Plan],
) -> dict[int, tuple[datetime | None, datetime | None, str]]:
    """Per mention, the most urgent new clock's due, warning and hint."""
    best: dict[int, Plan] = {}
    for plan in plans:
        current = best.get(plan.mention_id)
        if current is None or plan.due_at < current.due_at:
            best[plan.mention_id] = plan
    return {mid: (p.due_at, p.warning_at, p.due_hint) for mid, p in best.items()}


def _load_portable(ids: list[int], with_tags: bool) -> list[NewMention]:
    rows = load_mentions(ids, with_tags=with_tags)
    started = set(
        SlaClock.objects.filter(mention_id__in=ids)
        .values_list("mention_id", flat=True)
        .distinct()
    )
    todo = [r for r in rows.values() if r.id not in started and r.status in WORKING]
    threads = thread_states(r.thread_id for r in todo)
    out = []
    for row in todo:
        thread = threads.get(row.thread_id)
        out.append(
            NewMention(
                row,
                thread.last_answer_at if thread else None,
                thread.max_next_cycle if thread else 0,
            )
        )
    return out


_LOAD = """
SELECT m.id, m.thread_id, m.status, m.created_at, m.kind, m.account_id, m.priority, m.lang,
       a.followers_count, a.verified,
       ARRAY(SELECT ms.stream_id FROM mentions_mentionstream ms WHERE ms.mention_id = m.id),
       ARRAY(SELECT lower(t.name) FROM mentions_mention_tags mt
             JOIN mentions_tag t ON t.id = mt.tag_id WHERE mt.mention_id = m.id),
       answers.last_answer, answers.max_next
FROM mentions_mention m
JOIN mentions_author a ON a.id = m.author_id
LEFT JOIN LATERAL (
    -- the thread's human answers: whether there was one (next vs first response) and the cycle
    SELECT max(c.stopped_at) AS last_answer,
           max(c.cycle) FILTER (WHERE c.target = 'next_response') AS max_next
    FROM mentions_mention tm JOIN sla_slaclock c ON c.mention_id = tm.id
    WHERE tm.thread_id = m.thread_id AND c.target IN ('first_response', 'next_response')
      AND c.stopped_by_channel <> ''
) AS answers ON true
WHERE m.id = ANY(%s) AND m.status IN ('new', 'open')
  AND NOT EXISTS (SELECT 1 FROM sla_slaclock c WHERE c.mention_id = m.id)
"""


def _load_postgres(ids: list[int]) -> list[NewMention]:
    with connection.cursor() as cursor:
        cursor.execute(_LOAD, [ids])
        rows = cursor.fetchall()
    return [
        NewMention(
            MentionRow(
                id=r[0],
                thread_id=r[1],
                status=r[2],
                created_at=r[3],
                facts=MentionFacts(
                    stream_ids=frozenset(r[10]),
                    account_id=r[5],
                    kind=r[4],
                    priority=r[6],
                    followers=r[8],
                    verified=r[9],
                    lang=r[7] or "",
                    tags=frozenset(r[11]),
                ),
            ),
            r[12],
            r[13] or 0,
        )
        for r in rows
    ]


_INSERT = """
WITH c_in AS (
    SELECT * FROM unnest(%(mention_id)s::bigint[], %(policy_id)s::bigint[], %(target)s::text[],
                         %(cycle)s::int[], %(business)s::bool[], %(target_seconds)s::int[],
                         %(started_at)s::timestamptz[], %(due_at)s::timestamptz[],
                         %(warning_at)s::timestamptz[], %(due_hint)s::text[])
        AS t(mention_id, policy_id, target, cycle, business, target_seconds, started_at, due_at,
             warning_at, due_hint)
), ins AS (
    INSERT INTO sla_slaclock
        (mention_id, policy_id, target, cycle, state, is_business_time, target_seconds, started_at,
         due_at, warning_at, due_hint, paused_seconds, paused_business_seconds, is_late,
         stopped_by_channel)
    SELECT mention_id, policy_id, target, cycle, 'active', business, target_seconds, started_at,
           due_at, warning_at, due_hint, 0, 0, false, ''
    FROM c_in
    ON CONFLICT (mention_id, target, cycle) DO NOTHING
    RETURNING mention_id
), m_in AS (
    SELECT * FROM unnest(%(m_id)s::bigint[], %(m_due)s::timestamptz[], %(m_warn)s::timestamptz[],
                         %(m_hint)s::text[]) AS t(id, due, warn, hint)
)
UPDATE mentions_mention AS m
SET sla_due_at = i.due, sla_warning_at = i.warn, sla_hint = i.hint, updated_at = now()
FROM m_in AS i WHERE m.id = i.id AND m.id IN (SELECT mention_id FROM ins)
"""


def _insert_postgres(
    plans: list[Plan],
    summaries: dict[int, tuple[datetime | None, datetime | None, str]],
) -> None:
    params: dict[str, Any] = {
        "mention_id": [p.mention_id for p in plans],
        "policy_id": [p.policy_id for p in plans],
        "target": [p.target for p in plans],
        "cycle": [p.cycle for p in plans],
        "business": [p.business for p in plans],
        "target_seconds": [p.seconds for p in plans],
        "started_at": [p.started_at for p in plans],
        "due_at": [p.due_at for p in plans],
        "warning_at": [p.warning_at for p in plans],
        "due_hint": [p.due_hint for p in plans],
        "m_id": list(summaries),
        "m_due": [s[0] for s in summaries.values()],
        "m_warn": [s[1] for s in summaries.values()],
        "m_hint": [s[2] for s in summaries.values()],
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
