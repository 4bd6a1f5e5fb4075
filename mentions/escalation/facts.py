"""Rule matching in Python for a handful of mentions: the ingest path's cheap evaluation.

The sweep matches in SQL (rules.py, on what changed: delta.py). At ingest only a page of new
mentions needs checking, and compiling and planning 20 rule queries per page cost more than the
page's insert, so ingest loads the page's facts in a few flat queries and applies `matches`, a pure
function with the same meaning as the SQL (tests/escalation/test_facts.py checks they agree).
Firings still go through the same unique INSERT, so the two paths can never fire twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from django.db.models import Max

from mentions.escalation.rules import OPEN_STATUSES, Conditions
from mentions.models import Mention, MentionEvent, MentionStream
from mentions.sla.models import SlaClock


@dataclass(frozen=True)
class Clock:
    target: str
    cycle: int
    state: str
    due_at: datetime
    is_stopped: bool


@dataclass
class Facts:
    """What the conditions read about one mention."""

    id: int
    status: str
    priority: int
    sentiment: float | None
    followers: int
    text: str
    team_id: int | None
    assignee_id: int | None
    created_at: datetime
    sla_due_at: datetime | None = None
    stream_ids: set[int] = field(default_factory=set)
    clocks: list[Clock] = field(default_factory=list)
    last_assignment_at: datetime | None = None


def load(
    mention_ids: Sequence[int], *, clocks: bool, streams: bool, assignments: bool
) -> list[Facts]:
    """The facts of these mentions in one query, plus one per kind of related row asked for."""
    facts = load_base(mention_ids)
    add_related(
        facts,
        clocks=list(facts) if clocks else [],
        streams=list(facts) if streams else [],
        assignments=list(facts) if assignments else [],
    )
    return list(facts.values())


def load_base(mention_ids: Sequence[int]) -> dict[int, Facts]:
    """The mention fields the conditions read, in one query."""
    facts = {
        row["id"]: Facts(
            id=row["id"],
            status=row["status"],
            priority=row["priority"],
            sentiment=row["sentiment"],
            followers=row["author__followers_count"],
            text=row["text"],
            team_id=row["team_id"],
            assignee_id=row["assignee_id"],
            created_at=row["created_at"],
            sla_due_at=row["sla_due_at"],
        )
        for row in Mention.objects.filter(pk__in=mention_ids).values(
            "id",
            "status",
            "priority",
            "sentiment",
            "author__followers_count",
            "text",
            "team_id",
            "assignee_id",
            "created_at",
            "sla_due_at",
        )
    }
    return facts


def add_related(
    facts: dict[int, Facts],
    *,
    clocks: Sequence[int],
    streams: Sequence[int],
    assignments: Sequence[int],
) -> None:
    """Fill in clocks, stream links and the last assignment change for the given mentions."""
    if streams:
        for mention_id, stream_id in MentionStream.objects.filter(
            mention_id__in=streams
        ).values_list("mention_id", "stream_id"):
            facts[mention_id].stream_ids.add(stream_id)
    if clocks:
        for row in SlaClock.objects.filter(mention_id__in=clocks).values(
            "mention_id", "target", "cycle", "state", "due_at", "stopped_at"
        ):
            facts[row["mention_id"]].clocks.append(
                Clock(
                    row["target"],
                    row["cycle"],
                    row["state"],
                    row["due_at"],
                    row["stopped_at"] is not None,
                )
            )
    if assignments:
        for mention_id, last in (
            MentionEvent.objects.filter(
                mention_id__in=assignments, kind=MentionEvent.Kind.ASSIGNED
            )
            .values("mention_id")
            .annotate(last=Max("created_at"))
            .order_by()
            .values_list("mention_id", "last")
        ):
            facts[mention_id].last_assignment_at = last


def _clock_matches(clock: Clock, condition: dict[str, Any], now: datetime) -> bool:
    if clock.target != condition["target"] or clock.is_stopped:
        return False
    if condition.get("breached"):
        return (
            clock.state in (SlaClock.State.ACTIVE, SlaClock.State.BREACHED)
            and clock.due_at <= now
        )
    within = timedelta(minutes=condition["due_within_minutes"])
    return clock.state == SlaClock.State.ACTIVE and now < clock.due_at <= now + within


@lru_cache(maxsize=256)
def _keywords(words: tuple[str, ...]) -> re.Pattern[str]:
    """A rule's keywords as one compiled pattern (ingest tests every rule on every new mention)."""
    return re.compile("|".join(re.escape(w.strip()) for w in words), re.IGNORECASE)


def _mention_matches(conditions: Conditions, f: Facts, now: datetime) -> bool:
    if f.status not in OPEN_STATUSES:
        return False
    if "unassigned_minutes" in conditions:
        since = now - timedelta(minutes=conditions["unassigned_minutes"])
        if f.assignee_id is not None or f.created_at > since:
            return False
        if f.last_assignment_at is not None and f.last_assignment_at > since:
            return False
    if "min_priority" in conditions and f.priority < conditions["min_priority"]:
        return False
    if "max_sentiment" in conditions and (
        f.sentiment is None or f.sentiment > conditions["max_sentiment"]
    ):
        return False
    if "min_followers" in conditions and f.followers < conditions["min_followers"]:
        return False
    if conditions.get("keywords") and not _keywords(
        tuple(conditions["keywords"])
    ).search(f.text):
        return False
    if conditions.get("streams") and not f.stream_ids & set(conditions["streams"]):
        return False
    return not (conditions.get("teams") and f.team_id not in conditions["teams"])


# The pre-filter's conditions per rule: built once, not once per mention (ingest calls `needs` for
# every rule on every mention of a page). Keyed by identity; the dict is held, so its id stays unique.
_BASE: dict[int, tuple[Conditions, Conditions]] = {}


def _base_conditions(conditions: Conditions) -> Conditions:
    cached = _BASE.get(id(conditions))
    if cached is not None and cached[0] is conditions:
        return cached[1]
    base = cast(
        Conditions,
        {k: v for k, v in conditions.items() if k not in ("streams", "clock")},
    )
    if len(_BASE) >= 1024:
        _BASE.clear()
    _BASE[id(conditions)] = (conditions, base)
    return base


def needs(
    conditions: Conditions, f: Facts, *, now: datetime
) -> tuple[bool, bool, bool] | None:
    """Pre-filter on the base facts: None when the rule cannot match, else which related rows
    (clocks, stream links, assignment history) deciding it needs.

    Clock conditions use Mention.sla_due_at, the due time of the mention's most urgent running
    (active or breached) clock, which mentions.sla.start_clocks sets before ingest evaluates: when
    it is later than the rule's window, no clock of the mention can match.
    """
    # Everything but the stream links and the assignment history, which are not loaded yet.
    base = _base_conditions(conditions)
    unloaded = (
        f if f.last_assignment_at is None else replace(f, last_assignment_at=None)
    )
    if not _mention_matches(base, unloaded, now):
        return None
    clock = conditions.get("clock")
    if clock is not None:
        horizon = now + timedelta(minutes=clock.get("due_within_minutes", 0))
        if f.sla_due_at is None or f.sla_due_at > horizon:
            return None
    return (
        clock is not None,
        bool(conditions.get("streams")),
        "unassigned_minutes" in conditions,
    )


def matches(
    conditions: Conditions, f: Facts, *, now: datetime
) -> list[tuple[str, int]]:
    """The (target, cycle) firings the rule makes on this mention: ("", 0) for a per-mention rule."""
    if not _mention_matches(conditions, f, now):
        return []
    clock = conditions.get("clock")
    if clock is None:
        return [("", 0)]
    return sorted(
        (c.target, c.cycle) for c in f.clocks if _clock_matches(c, dict(clock), now)
    )
