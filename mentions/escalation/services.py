"""Escalation services: find the mentions each active rule matches, fire once, act.

The public API (other modules call exactly these; keep the signatures):
- `evaluate_mentions(mention_ids, now=...)`: at ingest, after the SLA clocks started, in the ingest
  transaction.
- `sweep(now=...)`: the beat sweep (marks breaches through mentions.sla, then evaluates every rule).

How a rule fires exactly once, however many workers sweep at the same time:
1. The sweep lists the (rule, mention, target, cycle) rows that match and have no firing yet in
   SQL (find_matches: two queries for all rules); ingest applies the same conditions in Python to
   the page's facts (see facts.py).
2. Per rule, in one transaction: INSERT those firings ... ON CONFLICT DO NOTHING RETURNING. A row
   that another worker inserted first (committed, or still in flight: the insert waits for it) is
   not returned, so only the worker whose insert won applies the actions and queues notifications.
   Rows are inserted in (mention, target, cycle) order so two racing sweeps lock in the same order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from mentions.escalation import actions, facts, notify
from mentions.escalation.models import EscalationFiring, EscalationRule
from mentions.escalation.rules import (
    Conditions,
    candidates,
    is_per_mention,
    per_mention_candidates,
    reads_beyond_the_mention,
)
from mentions.models import Mention
from mentions.sla import services as sla

log = logging.getLogger(__name__)

# Per-mention rules are re-checked on every open mention this often (seconds), and otherwise on the
# mentions that changed within change_window() (several sweep intervals: a late sweep misses nothing).
FULL_EVALUATION = 300
FULL_EVALUATION_KEY = "escalation:full-evaluation"
# A rule created, edited or enabled within this time is checked against every open mention in full
# sweeps (at least two of them), whatever it reads.
NEW_RULE_WINDOW = timedelta(seconds=2 * FULL_EVALUATION + 60)


def change_window() -> timedelta:
    return timedelta(seconds=max(60.0, 4 * float(settings.SLA_SWEEP_INTERVAL)))


# Bounds a catch-up sweep's transactions (e.g. after a rule is created over a large backlog).
CHUNK = 500
# At ingest, apply the firings of new mentions in bulk (batch.py); False takes _fire's per-firing path
# (the reference the batch is tested against).
BATCH_AT_INGEST = True


@dataclass(frozen=True)
class Fired:
    firing_id: int
    rule_id: int
    mention_id: int
    target: str
    cycle: int


def _active_rules() -> list[EscalationRule]:
    return list(
        EscalationRule.objects.filter(is_active=True).order_by("position", "id")
    )


def find_matches(
    rules: Sequence[EscalationRule],
    *,
    now: datetime,
    mention_ids: Sequence[int] | None = None,
    changed_since: datetime | None = None,
) -> list[tuple[int, int, str, int]]:
    """(rule, mention, target, cycle) rows that match and have not fired yet, in two queries.

    Clock rules: a UNION ALL of one SELECT per rule, each a range scan of the clocks' due-time
    index. Per-mention rules: one scan of the open mentions computing every rule at once.

    With `changed_since`, per-mention rules (rules.is_per_mention) only look at the mentions that
    may have started to match since then.
    """
    ids = list(mention_ids) if mention_ids is not None else None
    parts = []
    per_mention: list[tuple[int, Conditions, datetime | None]] = []
    for rule in rules:
        conditions = cast(Conditions, rule.conditions)
        if not is_per_mention(conditions):
            parts.append(candidates(rule.pk, conditions, now=now, mention_ids=ids))
            continue
        since = changed_since
        if (
            since is None
            and ids is None
            and not reads_beyond_the_mention(conditions)
            and rule.updated_at < now - NEW_RULE_WINDOW
        ):
            # A full sweep: a rule reading only the mention's own fields was checked against every
            # open mention while it was new; since then only a change to the row can make it match.
            since = now - change_window()
        per_mention.append((rule.pk, conditions, since))
    found = [
        (rule_id, mention_id, "", 0)
        for rule_id, mention_id in per_mention_candidates(
            per_mention, now=now, mention_ids=ids
        )
    ]
    if parts:
        query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        found += [
            (int(row["r"]), int(row["m"]), str(row["t"]), int(row["c"]))
            for row in query
        ]
    return sorted(found)


def insert_firings(
    rule_id: int, rows: Iterable[tuple[int, str, int]], *, now: datetime
) -> list[Fired]:
    """Insert (mention, target, cycle) firings for a rule; return only the rows this call inserted."""
    ordered = sorted(set(rows))
    if not ordered:
        return []
    table = EscalationFiring._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(ordered))
    params: list[Any] = []
    for mention_id, target, cycle in ordered:
        params += [rule_id, mention_id, target, cycle, now]
    # ON CONFLICT DO NOTHING RETURNING returns only inserted rows (Postgres, and SQLite >= 3.35);
    # bulk_create(ignore_conflicts=True) cannot tell which rows were ours.
    sql = (
        f'INSERT INTO "{table}" ("rule_id", "mention_id", "target", "cycle", "fired_at") '  # noqa: S608 - table name is ours, values are parameters
        f"VALUES {values} ON CONFLICT DO NOTHING "
        'RETURNING "id", "rule_id", "mention_id", "target", "cycle"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    return [Fired(int(a), int(b), int(c), str(d), int(e)) for a, b, c, d, e in inserted]


def _fire(
    rule: EscalationRule, rows: list[tuple[int, str, int]], *, now: datetime
) -> int:
    """Fire one rule on `rows` in transactions of CHUNK; returns how many firings were ours."""
    ours = 0
    for start in range(0, len(rows), CHUNK):
        with transaction.atomic():
            fired = insert_firings(rule.pk, rows[start : start + CHUNK], now=now)
            if not fired:
                continue
            mentions = Mention.objects.select_related(
                "assignee", "team", "author"
            ).in_bulk([f.mention_id for f in fired])
            firings = EscalationFiring.objects.in_bulk([f.firing_id for f in fired])
            for f in fired:
                firing = firings[f.firing_id]
                firing.rule = rule
                firing.mention = mentions[f.mention_id]
                actions.apply(firing, now=now)
            ours += len(fired)
    return ours


def _run(
    rules: list[EscalationRule],
    *,
    now: datetime,
    changed_since: datetime | None = None,
) -> int:
    matches = find_matches(rules, now=now, changed_since=changed_since)
    if not matches:
        return 0
    by_rule: dict[int, list[tuple[int, str, int]]] = {}
    for rule_id, mention_id, target, cycle in matches:
        by_rule.setdefault(rule_id, []).append((mention_id, target, cycle))
    fired = 0
    for rule in rules:
        if rule.pk in by_rule:
            fired += _fire(rule, by_rule[rule.pk], now=now)
    return fired


def evaluate_mentions(mention_ids: Sequence[int], *, now: datetime) -> None:
    """Fire the rules whose conditions the new mentions already meet.

    Cheap on the ingest path: one query loads the active rules and one the page's mention fields;
    the conditions are applied in Python (facts.needs, then facts.matches: the same meaning as the
    sweep's SQL), loading clocks, stream links or assignment history only for the mentions a rule
    still needs them for. Nothing is written unless something matched.
    """
    if not mention_ids:
        return
    rules = _active_rules()
    if not rules:
        return
    page = facts.load_base(mention_ids)
    # Pre-filter on the mention fields (and sla_due_at for clock rules); load clocks, stream links
    # and assignment history only for the mentions some rule still needs them for: usually none.
    candidates_by_rule: dict[int, list[int]] = {}
    need_clocks: set[int] = set()
    need_streams: set[int] = set()
    need_assignments: set[int] = set()
    for rule in rules:
        conditions = cast(Conditions, rule.conditions)
        for f in page.values():
            need = facts.needs(conditions, f, now=now)
            if need is None:
                continue
            candidates_by_rule.setdefault(rule.pk, []).append(f.id)
            for wanted, into in zip(
                need, (need_clocks, need_streams, need_assignments), strict=True
            ):
                if wanted:
                    into.add(f.id)
    if not candidates_by_rule:
        return
    facts.add_related(
        page,
        clocks=sorted(need_clocks),
        streams=sorted(need_streams),
        assignments=sorted(need_assignments),
    )
    matched: list[tuple[EscalationRule, list[tuple[int, str, int]]]] = []
    for rule in rules:
        conditions = cast(Conditions, rule.conditions)
        rows = [
            (mention_id, target, cycle)
            for mention_id in candidates_by_rule.get(rule.pk, [])
            for target, cycle in facts.matches(conditions, page[mention_id], now=now)
        ]
        if rows:
            matched.append((rule, rows))
    if not matched:
        return
    ids = sorted({mention_id for _, rows in matched for mention_id, _, _ in rows})
    fired_mentions = Mention.objects.select_related(
        "assignee", "team", "author"
    ).in_bulk(ids)
    if not BATCH_AT_INGEST or any(
        m.status != Mention.Status.NEW for m in fired_mentions.values()
    ):
        for rule, rows in matched:
            _fire(rule, rows, now=now)
        return
    # All new (what ingest creates): insert every rule's firings, then write all their actions in a
    # few statements (batch.py; the same result as _fire, which applies them one firing at a time).
    from mentions.escalation import batch

    fired = [
        (
            rule,
            [
                (f.firing_id, f.mention_id, f.target, f.cycle)
                for f in insert_firings(rule.pk, rows, now=now)
            ],
        )
        for rule, rows in matched
    ]
    batch.apply_new(fired, fired_mentions, now=now)


def sweep(*, now: datetime, full: bool | None = None) -> int:
    """Mark breaches, then fire every rule whose conditions an open mention meets.

    - Clock rules are checked on every running clock each time (through the due_at index).
    - Per-mention rules (rules.is_per_mention) are checked on the mentions that may have started
      to match within change_window() (updated, or crossing an "unassigned for" age), and on all
      open mentions in a full evaluation: `full=True`, or, when `full` is None, the first sweep
      (on any worker) once FULL_EVALUATION seconds have passed. A full evaluation covers the rules
      that read beyond the mention row (followers, streams, assignment history: changes there do
      not bump updated_at) and rules created, edited or enabled within NEW_RULE_WINDOW.
    - Deliveries whose task was lost are re-queued (notify.requeue_stale).
    Returns how many firings this call made.
    """
    breached = sla.mark_breaches(now=now)
    if full is None:
        # cache.add is atomic (Redis SET NX): one sweep per period wins the full evaluation.
        full = cache.add(FULL_EVALUATION_KEY, now.isoformat(), timeout=FULL_EVALUATION)
    rules = _active_rules()
    changed_since = None if full else now - change_window()
    fired = _run(rules, now=now, changed_since=changed_since) if rules else 0
    requeued = notify.requeue_stale(now=now)
    if fired or breached or requeued:
        log.info(
            "escalation sweep: %d breaches marked, %d firings, %d notifications re-queued",
            len(breached),
            fired,
            requeued,
        )
    return fired
