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
from django.db.models.fields import CharField, IntegerField
from django.db.models.functions import Cast

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


def _mention_q(conditions: Conditions, *, now: datetime, prefix: str, outer: str) -> Q:
    """The mention-level conditions as a Q over Mention (prefix "") or SlaClock (prefix "mention__")."""
    q = Q(**{f"{prefix}status__in": OPEN_STATUSES})
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


def _recent_q(conditions: Conditions, *, now: datetime, changed_since: datetime) -> Q:
    """The mentions a per-mention rule may have started to match on since `changed_since`."""
    recent = Q(updated_at__gte=changed_since)
    if "unassigned_minutes" in conditions:
        crossed = now - timedelta(minutes=conditions["unassigned_minutes"])
        recent |= Q(created_at__gt=crossed - (now - changed_since))
    return recent


def per_mention_candidates(
    rules: list[tuple[int, Conditions, datetime | None]],
    *,
    now: datetime,
    mention_ids: list[int] | None = None,
) -> list[tuple[int, int]]:
    """(rule, mention) pairs for per-mention rules that match and have not fired, in ONE scan.

    `rules` holds (id, conditions, changed_since): with a `changed_since`, that rule only looks at
    the mentions that may have started to match since then (_recent_q). One SELECT over the open
    mentions computes every rule's condition as a column, so a full evaluation reads the (wide)
    mentions table once instead of once per rule.
    """
    from mentions.escalation.models import EscalationFiring

    if not rules:
        return []
    rows = Mention.objects.filter(status__in=OPEN_STATUSES)
    if mention_ids is not None:
        rows = rows.filter(pk__in=mention_ids)
    matched_any = Q(pk__in=[])
    flags: dict[str, Any] = {}
    for rule_id, conditions, changed_since in rules:
        q = _mention_q(conditions, now=now, prefix="", outer="pk")
        if changed_since is not None:
            q &= _recent_q(conditions, now=now, changed_since=changed_since)
        q &= Q(
            ~Exists(
                EscalationFiring.objects.filter(
                    rule_id=rule_id, mention_id=OuterRef("pk"), target="", cycle=0
                )
            )
        )
        flags[f"rule_{rule_id}"] = ExpressionWrapper(q, output_field=BooleanField())
        matched_any |= q
    found = rows.filter(matched_any).annotate(**flags).values_list("pk", *flags)
    pairs = []
    for pk, *hits in found:
        for (rule_id, _, _), hit in zip(rules, hits, strict=True):
            if hit:
                pairs.append((rule_id, int(pk)))
    return pairs


def reads_beyond_the_mention(conditions: Conditions) -> bool:
    """True when a per-mention rule can start matching without the mention row changing.

    The author's followers, a new stream link, or an assignment change ageing past X minutes do
    not bump Mention.updated_at; a rule reading only the row's own fields never needs a full scan
    once it has been checked against every open mention.
    """
    return bool(
        "min_followers" in conditions
        or conditions.get("streams")
        or "unassigned_minutes" in conditions
    )


def is_per_mention(conditions: Conditions) -> bool:
    """True for a rule without a clock condition: it fires once per mention.

    Its answer changes only when the mention changes (`Mention.updated_at`, indexed) or, for
    "unassigned for X", when the post's age crosses X (`created_at`, indexed), so most sweeps check
    it only on those mentions instead of on all open work.
    """
    return "clock" not in conditions


def candidates(
    rule_id: int,
    conditions: Conditions,
    *,
    now: datetime,
    mention_ids: list[int] | None = None,
    changed_since: datetime | None = None,
) -> QuerySet[Any, dict[str, Any]]:
    """Rows {rule, mention, target, cycle} that match the rule and have not fired yet.

    `changed_since` (an incremental sweep, see is_per_mention) limits a rule without a clock condition
    to the mentions that may have started to match since then: those updated since then, and for
    "unassigned for X" the ones whose post time crossed the X-minute mark in the meantime.
    """
    from mentions.escalation.models import EscalationFiring

    clock = conditions.get("clock")
    if clock is not None:
        rows: QuerySet[Any, Any] = SlaClock.objects.filter(
            _clock_q(clock, now=now),
            _mention_q(conditions, now=now, prefix="mention__", outer="mention_id"),
        )
        if mention_ids is not None:
            rows = rows.filter(mention_id__in=mention_ids)
        rows = rows.annotate(
            r=Value(rule_id, output_field=IntegerField()),
            m=F("mention_id"),
            t=F("target"),
            c=Cast("cycle", IntegerField()),
        )
        fired = EscalationFiring.objects.filter(
            rule_id=rule_id,
            mention_id=OuterRef("mention_id"),
            target=OuterRef("target"),
            cycle=OuterRef("cycle"),
        )
    else:
        rows = Mention.objects.filter(
            _mention_q(conditions, now=now, prefix="", outer="pk")
        )
        if mention_ids is not None:
            rows = rows.filter(pk__in=mention_ids)
        if changed_since is not None:
            rows = rows.filter(
                _recent_q(conditions, now=now, changed_since=changed_since)
            )
        rows = rows.annotate(
            r=Value(rule_id, output_field=IntegerField()),
            m=F("pk"),
            t=Value("", output_field=CharField()),
            c=Value(0, output_field=IntegerField()),
        )
        fired = EscalationFiring.objects.filter(
            rule_id=rule_id, mention_id=OuterRef("pk"), target="", cycle=0
        )
    # `rows` is typed loosely on purpose: the two branches annotate different models.
    return cast(
        "QuerySet[Any, dict[str, Any]]",
        rows.filter(~Exists(fired)).order_by().values("r", "m", "t", "c"),
    )
