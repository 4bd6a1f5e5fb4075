"""The shape of a rule's conditions and actions, their validation, and the SQL that finds matches.

Conditions (a JSON object; every key that is present must hold, i.e. they combine with AND):

- `clock`: `{"target": "first_response"|"next_response"|"resolution", "due_within_minutes": X}`
  (the target's running clock is due in the next X minutes, not yet past due) or
  `{"target": ..., "breached": true}` (marked breached, or still running past its due time: the
  condition reads `SlaClock.due_at` itself so it does not depend on when breaches were marked).
  A rule with a clock condition fires once per clock cycle; without one, once per mention.
- `unassigned_minutes`: nobody has been assigned for X minutes (since the post's time, like the
  SLA clocks, or since the last assignment change).
- `min_priority` (1-4), `max_sentiment` (VADER compound, -1..1), `min_followers`,
- `keywords`: any of them appears in the text (case-insensitive),
- `streams` / `teams`: ids; the mention matched one of the streams / belongs to one of the teams.

Only open work escalates: mentions that are new, open or waiting.

Actions (a JSON list, run in order): `raise_priority` {priority}, `assign` {agent?, team?},
`add_tag` {tag}, `add_note` {body}, `notify_email` {to: assignee|team|assignee_or_team|addresses,
addresses?}, `webhook` {url}.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, NotRequired, TypedDict, cast

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.fields import IntegerField
from django.db.models.functions import Cast, Lower

from mentions.models import Mention, MentionEvent, MentionStream
from mentions.sla.models import SlaClock

OPEN_STATUSES = [Mention.Status.NEW, Mention.Status.OPEN, Mention.Status.WAITING]
TARGETS = [t.value for t in SlaClock.Target]
EMAIL_RECIPIENTS = {
    "assignee": "The assignee",
    "team": "The team's members",
    "assignee_or_team": "The assignee, or the team's members when unassigned",
    "addresses": "Fixed addresses",
}
ACTION_TYPES = [
    "raise_priority",
    "assign",
    "add_tag",
    "add_note",
    "notify_email",
    "webhook",
]
MAX_NOTE_LENGTH = 2000
MAX_KEYWORDS = 50


class ClockCondition(TypedDict):
    target: str
    due_within_minutes: NotRequired[int]
    breached: NotRequired[bool]


class Conditions(TypedDict, total=False):
    clock: ClockCondition
    unassigned_minutes: int
    min_priority: int
    max_sentiment: float
    min_followers: int
    keywords: list[str]
    streams: list[int]
    teams: list[int]


class Action(TypedDict, total=False):
    type: Literal[
        "raise_priority", "assign", "add_tag", "add_note", "notify_email", "webhook"
    ]
    priority: int
    agent: int
    team: int
    tag: str
    body: str
    to: str
    addresses: list[str]
    url: str


# --- Matching in SQL ------------------------------------------------------------------------


def _mention_q(
    conditions: Conditions,
    *,
    now: datetime,
    prefix: str,
    outer: str,
    status: bool = True,
) -> Q:
    """The mention-level conditions as a Q over Mention (prefix "") or SlaClock (prefix "mention__").

    `status=False` leaves out the open-status test for a caller that makes it once for all rules.
    """
    q = Q(**{f"{prefix}status__in": OPEN_STATUSES}) if status else Q()
    if "unassigned_minutes" in conditions:
        since = now - timedelta(minutes=conditions["unassigned_minutes"])
        q &= Q(**{f"{prefix}assignee__isnull": True, f"{prefix}created_at__lte": since})
        # An assignment change (e.g. unassigned 5 minutes ago) restarts the "unassigned for" time.
        q &= Q(
            ~Exists(
                MentionEvent.objects.filter(
                    mention_id=OuterRef(outer),
                    kind=MentionEvent.Kind.ASSIGNED,
                    created_at__gt=since,
                )
            )
        )
    if "min_priority" in conditions:
        q &= Q(**{f"{prefix}priority__gte": conditions["min_priority"]})
    if "max_sentiment" in conditions:
        q &= Q(**{f"{prefix}sentiment__lte": conditions["max_sentiment"]})
    if "min_followers" in conditions:
        q &= Q(**{f"{prefix}author__followers_count__gte": conditions["min_followers"]})
    if conditions.get("streams"):
        q &= Q(
            Exists(
                MentionStream.objects.filter(
                    mention_id=OuterRef(outer), stream_id__in=conditions["streams"]
                )
            )
        )
    if conditions.get("teams"):
        q &= Q(**{f"{prefix}team_id__in": conditions["teams"]})
    if conditions.get("keywords"):
        # Last: the costliest test (a regex over the text), one pass for all the keywords.
        pattern = "|".join(re.escape(w.strip()) for w in conditions["keywords"])
        q &= Q(**{f"{prefix}text__iregex": pattern})
    return q


def _clock_q(clock: ClockCondition, *, now: datetime) -> Q:
    q = Q(target=clock["target"], stopped_at__isnull=True)
    if clock.get("breached"):
        # Marked breached, or running past due but not marked yet (evaluation at ingest must not
        # depend on when mark_breaches ran). A breached clock is always past due (mentions.sla
        # reverts it to active when a re-applied policy moves due_at later), so one due_at range
        # over the running-clock index (sla_slaclock_running_due) covers both.
        return q & Q(
            state__in=[SlaClock.State.ACTIVE, SlaClock.State.BREACHED], due_at__lte=now
        )
    within = timedelta(minutes=clock["due_within_minutes"])
    return q & Q(state=SlaClock.State.ACTIVE, due_at__gt=now, due_at__lte=now + within)


def _flags(
    rows: QuerySet[Any, Any],
    rules: dict[int, Q],
    fields: tuple[str, ...],
) -> list[tuple[int, tuple[Any, ...]]]:
    """(rule, row fields) for each rule whose Q holds on each row, computing every rule in ONE pass.

    One SELECT computes each rule's condition as a boolean column, so the rows are read once
    whatever the number of rules.
    """
    if not rules:
        return []
    matched_any = Q(pk__in=[])
    flags: dict[str, Any] = {}
    for rule_id, q in rules.items():
        q = q if q.children else Q(pk__isnull=False)  # no condition left: every row
        flags[f"rule_{rule_id}"] = ExpressionWrapper(q, output_field=BooleanField())
        matched_any |= q
    found = rows.filter(matched_any).annotate(**flags).values_list(*fields, *flags)
    out = []
    for row in found:
        values, hits = tuple(row[: len(fields)]), row[len(fields) :]
        for rule_id, hit in zip(rules, hits, strict=True):
            if hit:
                out.append((rule_id, values))
    return out


def per_mention_candidates(
    rules: list[tuple[int, Conditions]],
    *,
    now: datetime,
    mention_ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
    unfired: bool = True,
) -> list[tuple[int, int]]:
    """(rule, mention) pairs for per-mention rules that match and have not fired, in ONE query.

    Over the given mentions (a sweep's candidates, mentions/escalation/delta.py), over the open
    mentions with lo < id <= hi (`id_range`: a backfill slice, backfill.py), or over every open
    mention when neither is given. `unfired=False` leaves out the "has not fired yet" test (the
    caller checks the few matches against the firings of those mentions: an anti-join inside
    each rule's column would read all of that rule's firings).
    """
    from mentions.escalation.models import EscalationFiring

    if not rules:
        return []
    if mention_ids == []:
        return []
    rows = Mention.objects.all()
    if mention_ids is not None:
        rows = rows.filter(pk__in=mention_ids)
    elif id_range is not None:
        rows = rows.filter(pk__gt=id_range[0], pk__lte=id_range[1])
    if mention_ids is None and id_range is None:
        rows = rows.filter(status__in=OPEN_STATUSES)
    else:
        # The same test in a form no index serves: on a few ids, a plain status test tempts the
        # planner to AND them with a scan of a whole status index (100,000 entries).
        rows = rows.alias(open_status=Lower("status")).filter(
            open_status__in=OPEN_STATUSES
        )
    qs = {
        rule_id: _mention_q(conditions, now=now, prefix="", outer="pk", status=False)
        & (
            Q(
                ~Exists(
                    EscalationFiring.objects.filter(
                        rule_id=rule_id, mention_id=OuterRef("pk"), target="", cycle=0
                    )
                )
            )
            if unfired
            else Q()
        )
        for rule_id, conditions in rules
    }
    return [(rule_id, int(values[0])) for rule_id, values in _flags(rows, qs, ("pk",))]


def clock_candidates_on(
    rules: list[tuple[int, Conditions]],
    *,
    now: datetime,
    mention_ids: list[int],
    due_ranges: Sequence[tuple[datetime, datetime]] = (),
) -> list[tuple[int, int, str, int, datetime]]:
    """(rule, mention, target, cycle, due_at) for clock rules that match, in ONE query, on the
    running clocks of the given mentions (the clocks' mention index) and on those due in any of
    `due_ranges` (lo < due_at <= hi: narrow ranges of the due-time index).

    Fired or not: the caller checks the few matches against the firings of those mentions. For a
    handful of clocks; on a whole window, one query per rule (candidates) plans better.
    """
    if not rules or (not mention_ids and not due_ranges):
        return []
    where = Q(mention_id__in=mention_ids) if mention_ids else Q(pk__in=[])
    for lo, hi in due_ranges:
        where |= Q(due_at__gt=lo, due_at__lte=hi)
    rows = SlaClock.objects.filter(
        where,
        stopped_at__isnull=True,
        state__in=[SlaClock.State.ACTIVE, SlaClock.State.BREACHED],
    )
    qs = {
        rule_id: _clock_q(conditions["clock"], now=now)
        & _mention_q(conditions, now=now, prefix="mention__", outer="mention_id")
        for rule_id, conditions in rules
    }
    return [
        (rule_id, int(m), str(t), int(c), due)
        for rule_id, (m, t, c, due) in _flags(
            rows, qs, ("mention_id", "target", "cycle", "due_at")
        )
    ]


def entering_range(
    clock: ClockCondition, *, since: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """The due times that reach a clock rule's window as time passes from `since` to `now`:
    lo < due_at <= hi (due within X: X minutes ahead of both; breached: the two themselves)."""
    ahead = timedelta(minutes=clock.get("due_within_minutes", 0))
    return since + ahead, now + ahead


def is_per_mention(conditions: Conditions) -> bool:
    """True for a rule without a clock condition: it fires once per mention.

    Its answer changes only when one of the facts it reads changes (mentions/escalation/delta.py
    lists them with their change markers), so sweeps check it only on those mentions instead of on
    all open work once it has been checked against every open mention.
    """
    return "clock" not in conditions


def candidates(
    rule_id: int,
    conditions: Conditions,
    *,
    now: datetime,
    mention_ids: list[int] | None = None,
) -> QuerySet[Any, dict[str, Any]]:
    """Rows {rule, mention, target, cycle} of a clock rule that match and have not fired yet: every
    running clock in its window (a range of the due-time index), or those of the given mentions.

    Per-mention rules go through per_mention_candidates (one query for all of them).
    """
    from mentions.escalation.models import EscalationFiring

    clock = conditions["clock"]
    rows = SlaClock.objects.filter(
        _clock_q(clock, now=now),
        _mention_q(conditions, now=now, prefix="mention__", outer="mention_id"),
    )
    if mention_ids is not None:
        rows = rows.filter(mention_id__in=mention_ids)
    fired = EscalationFiring.objects.filter(
        rule_id=rule_id,
        mention_id=OuterRef("mention_id"),
        target=OuterRef("target"),
        cycle=OuterRef("cycle"),
    )
    found = (
        rows.filter(~Exists(fired))
        .annotate(
            r=Value(rule_id, output_field=IntegerField()),
            m=F("mention_id"),
            t=F("target"),
            c=Cast("cycle", IntegerField()),
        )
        .order_by()
        .values("r", "m", "t", "c")
    )
    return cast("QuerySet[Any, dict[str, Any]]", found)
