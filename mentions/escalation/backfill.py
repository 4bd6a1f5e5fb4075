"""A new or edited rule meets the open mentions that already exist: per-mention rules a slice of
ids per sweep, clock rules on every running clock in their window at once.

Checking a rule against every open mention reads every open row (a keyword rule runs its pattern
over every text): seconds on 100,000 open mentions, far more than a sweep may take. So a full
sweep only *starts* a Backfill for each per-mention rule created, edited or enabled within
NEW_RULE_WINDOW (once per rule version), and every sweep then checks the next slices of mention
ids (SLICE ids, one range of the primary key) for as long as BUDGET allows, at least one slice.
Rules started together share their slices, so one read of the rows serves all of them.

Nothing is missed in between: mentions that change meanwhile are checked by the change tracking
(delta.py) from the rule's creation on, and mentions created after the start were checked at ingest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, Min

from mentions.escalation.models import Backfill, EscalationRule
from mentions.escalation.rules import (
    OPEN_STATUSES,
    Conditions,
    is_per_mention,
    per_mention_candidates,
)
from mentions.models import Mention

# Mention ids per slice: one primary-key range; 30-150 ms for 7 rules on the benchmark's wide rows.
SLICE = 2000
# Seconds of backfill per sweep: slices continue while the next one (as slow as the slowest so far)
# fits; the first always runs.
BUDGET = 0.15


@dataclass
class Done:
    """What the backfill checked in this sweep: matches (some may have fired already), and the
    id ranges each rule covered."""

    matches: list[tuple[int, int]] = field(default_factory=list)
    ranges: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # (backfill ids, lo, hi, finished): how to move the cursors once the matches have fired.
    moves: list[tuple[list[int], int, int, datetime | None]] = field(
        default_factory=list
    )


def start(rules: Sequence[EscalationRule], *, now: datetime) -> None:
    """Start a backfill for each per-mention rule version that has none (a full sweep calls this)."""
    wanted = [r for r in rules if is_per_mention(r.conditions)]
    if not wanted:
        return
    have = set(
        Backfill.objects.filter(rule__in=wanted).values_list("rule_id", "version")
    )
    todo = [r for r in wanted if (r.pk, r.updated_at) not in have]
    if not todo:
        return
    bounds = Mention.objects.filter(status__in=OPEN_STATUSES).aggregate(
        first=Min("pk"), last=Max("pk")
    )
    first, last = bounds["first"], bounds["last"]
    Backfill.objects.bulk_create(
        [
            Backfill(
                rule=rule,
                version=rule.updated_at,
                next_id=(first - 1) if first is not None else 0,
                last_id=last if last is not None else 0,
                started_at=now,
                finished_at=None if first is not None else now,
            )
            for rule in todo
        ],
        ignore_conflicts=True,  # a racing full sweep started it first
    )


def unchecked_clock_rules(rules: Sequence[EscalationRule]) -> set[int]:
    """Clock rules whose current version has not been checked on every running clock yet.

    That check is one range of the due-time index per rule, so the sweep makes it at once (no
    slices); record_clock_checks remembers it. After it, a clock can only start matching by
    entering the window or by a change to its mention, which the change tracking sees.
    """
    clocked = {r.pk: r for r in rules if not is_per_mention(r.conditions)}
    if not clocked:
        return set()
    done = set(
        Backfill.objects.filter(rule_id__in=list(clocked)).values_list(
            "rule_id", "version"
        )
    )
    return {pk for pk, r in clocked.items() if (pk, r.updated_at) not in done}


def record_clock_checks(rules: Sequence[EscalationRule], *, now: datetime) -> None:
    Backfill.objects.bulk_create(
        [
            Backfill(
                rule=rule,
                version=rule.updated_at,
                next_id=0,
                last_id=0,
                started_at=now,
                finished_at=now,
            )
            for rule in rules
        ],
        ignore_conflicts=True,
    )


def run(rules: Sequence[EscalationRule], *, now: datetime) -> Done:
    """Check the running backfills' next slices within BUDGET; returns what matched (advance()
    then moves the cursors)."""
    done = Done()
    current = {r.pk: r for r in rules if is_per_mention(r.conditions)}
    running = [
        b
        for b in Backfill.objects.filter(finished_at__isnull=True).order_by("pk")
        if b.rule_id in current and current[b.rule_id].updated_at == b.version
    ]
    started, slowest = time.perf_counter(), 0.0
    while running:
        began = time.perf_counter()
        # The rules at the same point share a slice: one read of the rows for all of them.
        lo, last = running[0].next_id, running[0].last_id
        group = [b for b in running if (b.next_id, b.last_id) == (lo, last)]
        hi = min(lo + SLICE, last)
        pairs: list[tuple[int, Conditions]] = [
            (b.rule_id, current[b.rule_id].conditions) for b in group
        ]
        # Fired or not: the caller checks the matches against those mentions' firings.
        done.matches += per_mention_candidates(
            pairs, now=now, mention_ids=None, id_range=(lo, hi), unfired=False
        )
        finished = now if hi >= last else None
        for b in group:
            done.ranges.setdefault(b.rule_id, []).append((lo, hi))
            b.next_id, b.finished_at = hi, finished
        done.moves.append(([b.pk for b in group], lo, hi, finished))
        running = [b for b in running if b.finished_at is None]
        running.sort(key=lambda b: (b.next_id, b.pk))
        # Stop before a slice that would likely overrun the budget (the first one always runs).
        slowest = max(slowest, time.perf_counter() - began)
        if time.perf_counter() - started + slowest > BUDGET:
            break
    return done


def advance(done: Done) -> None:
    """Move the cursors past the slices checked, once their matches have fired (a sweep that
    fails before that leaves them to be checked again)."""
    for ids, lo, hi, finished in done.moves:
        # Conditional: a racing sweep that checked the same slice moves it only once.
        Backfill.objects.filter(pk__in=ids, next_id=lo).update(
            next_id=hi, finished_at=finished
        )


def drop_stale(rules: Sequence[EscalationRule]) -> None:
    """Forget the backfills of rule versions that are no longer active (edited, disabled, deleted)."""
    current = {(r.pk, r.updated_at) for r in rules}
    stale = [
        pk
        for pk, rule_id, version in Backfill.objects.values_list(
            "pk", "rule_id", "version"
        )
        if (rule_id, version) not in current
    ]
    if stale:
        Backfill.objects.filter(pk__in=stale).delete()
