"""Rule matching in Python for a handful of mentions: the ingest path's cheap evaluation.

The sweep matches in SQL over every open mention (rules.candidates). At ingest only a page of new
mentions needs checking, and compiling and planning 20 rule queries per page cost more than the
page's insert, so ingest loads the page's facts in a few flat queries and applies `matches`, a pure
function with the same meaning as the SQL (tests/escalation/test_facts.py checks they agree).
Firings still go through the same unique INSERT, so the two paths can never fire twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
    stream_ids: set[int] = field(default_factory=set)
    clocks: list[Clock] = field(default_factory=list)
    last_assignment_at: datetime | None = None


def load(
    mention_ids: Sequence[int], *, clocks: bool, streams: bool, assignments: bool
) -> list[Facts]:
    """The facts of these mentions in one query, plus one per kind of related row the rules read."""
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
        )
    }
    if streams:
        for mention_id, stream_id in MentionStream.objects.filter(
            mention_id__in=facts
        ).values_list("mention_id", "stream_id"):
            facts[mention_id].stream_ids.add(stream_id)
    if clocks:
        for row in SlaClock.objects.filter(mention_id__in=facts).values(
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
                mention_id__in=facts, kind=MentionEvent.Kind.ASSIGNED
            )
            .values("mention_id")
            .annotate(last=Max("created_at"))
            .order_by()
            .values_list("mention_id", "last")
        ):
            facts[mention_id].last_assignment_at = last
    return list(facts.values())


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
    if conditions.get("keywords"):
        pattern = "|".join(re.escape(w.strip()) for w in conditions["keywords"])
        if not re.search(pattern, f.text, re.IGNORECASE):
            return False
    if conditions.get("streams") and not f.stream_ids & set(conditions["streams"]):
        return False
    return not (conditions.get("teams") and f.team_id not in conditions["teams"])


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
