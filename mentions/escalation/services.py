"""Escalation services: find the mentions each active rule matches, fire once, act.

The public API (other modules call exactly these; keep the signatures):
- `evaluate_mentions(mention_ids, now=...)`: at ingest, after the SLA clocks started, in the ingest
  transaction.
- `sweep(now=...)`: the beat sweep (marks breaches through mentions.sla, then evaluates every rule).

How a rule fires exactly once, however many workers sweep at the same time:
1. The sweep lists the (rule, mention, target, cycle) rows that match and have no firing yet in
   SQL, looking only where each rule may have started to match since the previous sweep (plan;
   delta.py, backfill.py); ingest applies the same conditions in Python to the page's facts
   (see facts.py).
2. In one transaction (per CHUNK rows; at ingest, per rule): INSERT those firings ... ON CONFLICT
   DO NOTHING RETURNING. A row that another worker inserted first (committed, or still in flight:
   the insert waits for it) is not returned, so only the worker whose insert won applies the
   actions and queues notifications. Rows are inserted in (rule, mention, target, cycle) order, the
   rules in their own order, so two racing sweeps lock in the same order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from mentions.escalation import actions, backfill, delta, facts, notify
from mentions.escalation.models import EscalationFiring, EscalationRule
from mentions.escalation.rules import (
    Conditions,
    candidates,
    clock_candidates_on,
    entering_range,
    is_per_mention,
    per_mention_candidates,
)
from mentions.models import Mention
from mentions.sla import services as sla

log = logging.getLogger(__name__)

# One sweep every FULL_EVALUATION seconds (the first to win an atomic cache add, on any worker) checks
# the rules created, edited or enabled within NEW_RULE_WINDOW against every open mention, and every
# clock rule against every running clock in its window. The others check what changed (delta.py).
FULL_EVALUATION = 300
FULL_EVALUATION_KEY = "escalation:full-evaluation"
# Long enough for at least two full sweeps to check a new rule against everything.
NEW_RULE_WINDOW = timedelta(seconds=2 * FULL_EVALUATION + 60)


def change_window() -> timedelta:
    """The overlap a sweep gives the previous one: changes stamped before a sweep but committed
    after it (and late sweeps) are still seen. Several sweep intervals, at least 60 s."""
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


def active_rules() -> list[EscalationRule]:
    """The enabled rules in evaluation order (ingest reads them once per poll, as its keywords)."""
    return list(
        EscalationRule.objects.filter(is_active=True).order_by("position", "id")
    )


@dataclass
class Plan:
    """What one sweep found: the matches, the mentions each rule was checked on, the changes."""

    matches: list[tuple[int, int, str, int]]
    scopes: dict[int, delta.Scope]
    changes: delta.Changes | None = None
    # Clock rules checked on every running clock in their window (new rule versions).
    checked_windows: list[int] = field(default_factory=list)


def find_matches(
    rules: Sequence[EscalationRule],
    *,
    now: datetime,
    mention_ids: Sequence[int] | None = None,
    changed_since: datetime | None = None,
) -> list[tuple[int, int, str, int]]:
    """(rule, mention, target, cycle) rows that match and have not fired yet.

    - `mention_ids`: every rule on those mentions.
    - `changed_since` (the sweep): each rule only where it may have started to match since then
      (delta.py); a clock rule not checked yet in its current version (created, edited, enabled)
      on every running clock in its window.
    - neither: every rule on every open mention (a catch-up: reads every open row).
    """
    return plan(
        rules, now=now, mention_ids=mention_ids, changed_since=changed_since
    ).matches


def plan(
    rules: Sequence[EscalationRule],
    *,
    now: datetime,
    mention_ids: Sequence[int] | None = None,
    changed_since: datetime | None = None,
) -> Plan:
    pairs = [(rule.pk, cast(Conditions, rule.conditions)) for rule in rules]
    per_mention = [(r, c) for r, c in pairs if is_per_mention(c)]
    clocked = [(r, c) for r, c in pairs if not is_per_mention(c)]
    if mention_ids is not None or changed_since is None:
        ids = list(mention_ids) if mention_ids is not None else None
        scope = delta.Scope(ids=set(ids)) if ids is not None else delta.Scope(all=True)
        found = [
            (rule_id, mention_id, "", 0)
            for rule_id, mention_id in per_mention_candidates(
                per_mention, now=now, mention_ids=ids
            )
        ]
        found += _union_all(
            [candidates(r, c, now=now, mention_ids=ids) for r, c in clocked]
        )
        return Plan(sorted(set(found)), {rule_id: scope for rule_id, _ in pairs})

    changes = delta.load(pairs, since=changed_since, now=now)
    scopes = {r: delta.Scope(ids=changes.for_rule(r, c)) for r, c in pairs}
    changed = [
        (rule_id, mention_id, "", 0)
        for rule_id, mention_id in per_mention_candidates(
            per_mention,
            now=now,
            mention_ids=_union(scopes, per_mention),
            unfired=False,
        )
        if mention_id in scopes[rule_id]
    ]
    # Clock rules: every running clock in the window once per rule version (a new, edited or
    # enabled rule), one range of the due-time index per rule; then the clocks of the changed
    # mentions and those that entered the rule's window as time passed, all in one query.
    new = backfill.unchecked_clock_rules(rules)
    whole = [(r, c) for r, c in clocked if r in new]
    rest = [(r, c) for r, c in clocked if (r, c) not in whole]
    entering = {
        r: entering_range(c["clock"], since=changed_since, now=now) for r, c in rest
    }
    changed += [
        (rule_id, mention_id, target, cycle)
        for rule_id, mention_id, target, cycle, due in clock_candidates_on(
            rest,
            now=now,
            mention_ids=_union(scopes, rest),
            due_ranges=sorted(set(entering.values())),
        )
        if mention_id in scopes[rule_id]
        or entering[rule_id][0] < due <= entering[rule_id][1]
    ]
    found = [
        *_unfired(changed),
        *_union_all([candidates(r, c, now=now) for r, c in whole]),
    ]
    return Plan(sorted(set(found)), scopes, changes, checked_windows=sorted(new))


def _unfired(rows: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
    """Leave out the matches that already fired: one look at those mentions' firings (by the
    firings' mention index), instead of an anti-join that hashes every firing of each rule."""
    if not rows:
        return []
    fired = set(
        EscalationFiring.objects.filter(
            mention_id__in=sorted({m for _, m, _, _ in rows})
        ).values_list("rule_id", "mention_id", "target", "cycle")
    )
    return [row for row in rows if row not in fired]


def _union(
    scopes: dict[int, delta.Scope], rules: list[tuple[int, Conditions]]
) -> list[int]:
    ids: set[int] = set()
    for rule_id, _ in rules:
        ids |= scopes[rule_id].ids
    return sorted(ids)


def _union_all(parts: list[Any]) -> list[tuple[int, int, str, int]]:
    """Run the clock rules' queries as one UNION ALL."""
    if not parts:
        return []
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return [
        (int(row["r"]), int(row["m"]), str(row["t"]), int(row["c"])) for row in query
    ]


def insert_firings(
    rule_id: int, rows: Iterable[tuple[int, str, int]], *, now: datetime
) -> list[Fired]:
    """Insert (mention, target, cycle) firings for a rule; return only the rows this call inserted."""
    return _insert([(rule_id, *row) for row in sorted(set(rows))], now=now)


def _insert(rows: Sequence[tuple[int, int, str, int]], *, now: datetime) -> list[Fired]:
    """Insert (rule, mention, target, cycle) firings in this order; return the rows inserted."""
    if not rows:
        return []
    table = EscalationFiring._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for rule_id, mention_id, target, cycle in rows:
        params += [rule_id, mention_id, target, cycle, now]
    # ON CONFLICT DO NOTHING RETURNING returns only inserted rows (Postgres, and SQLite >= 3.35);
    # bulk_create(ignore_conflicts=True) cannot tell which rows were ours.
    # Only rules that still exist: ingest loads the rules once per poll, so one may have been deleted
    # since (it then fires nothing instead of failing the page). VALUES columns are named column1...
    # on PostgreSQL and SQLite alike; the WHERE also keeps SQLite from reading ON CONFLICT as a join's.
    rules = EscalationRule._meta.db_table
    sql = (
        f'INSERT INTO "{table}" ("rule_id", "mention_id", "target", "cycle", "fired_at") '  # noqa: S608 - table names are ours, values are parameters
        f"SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM (VALUES {values}) AS v "
        f'WHERE EXISTS (SELECT 1 FROM "{rules}" r WHERE r."id" = v.column1) '
        "ON CONFLICT DO NOTHING "
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


def _fire_all(
    rules: Sequence[EscalationRule],
    by_rule: dict[int, set[tuple[int, str, int]]],
    *,
    now: datetime,
) -> int:
    """The sweep's firings of every rule: one transaction, one INSERT and one load of the
    mentions per CHUNK rows (instead of per rule); returns how many firings were ours.

    Rows go in the rules' order, then (mention, target, cycle), so racing sweeps lock in the same
    order; actions run in that order too, each on the mention as the previous ones left it.
    """
    rows = [
        (rule.pk, *row) for rule in rules for row in sorted(by_rule.get(rule.pk, ()))
    ]
    by_id = {rule.pk: rule for rule in rules}
    ours = 0
    for start in range(0, len(rows), CHUNK):
        with transaction.atomic():
            fired = _insert(rows[start : start + CHUNK], now=now)
            if not fired:
                continue
            mentions = Mention.objects.select_related(
                "assignee", "team", "author"
            ).in_bulk([f.mention_id for f in fired])
            firings = EscalationFiring.objects.in_bulk([f.firing_id for f in fired])
            for f in fired:
                firing = firings[f.firing_id]
                firing.rule = by_id[f.rule_id]
                firing.mention = mentions[f.mention_id]
                actions.apply(firing, now=now)
            ours += len(fired)
    return ours


def _run(
    rules: list[EscalationRule],
    *,
    now: datetime,
    changed_since: datetime,
    full: bool,
) -> int:
    found = plan(rules, now=now, changed_since=changed_since)
    matches = list(found.matches)
    backfill.drop_stale(rules)
    if full:
        backfill.start(
            [r for r in rules if r.updated_at >= now - NEW_RULE_WINDOW], now=now
        )
    slices = backfill.run(rules, now=now)
    matches += _unfired(
        [(rule_id, mention_id, "", 0) for rule_id, mention_id in slices.matches]
    )
    for rule_id, ranges in slices.ranges.items():
        found.scopes[rule_id].ranges += ranges
    by_rule: dict[int, set[tuple[int, str, int]]] = {}
    for rule_id, mention_id, target, cycle in matches:
        by_rule.setdefault(rule_id, set()).add((mention_id, target, cycle))
    fired = _fire_all(rules, by_rule, now=now)
    # Only once their matches have fired: a sweep that fails before checks them again next time.
    backfill.record_clock_checks(
        [r for r in rules if r.pk in found.checked_windows], now=now
    )
    backfill.advance(slices)
    # After the firings: a rule that fired will not fire again, whatever the recheck would say.
    delta.schedule_rechecks(
        [(rule.pk, cast(Conditions, rule.conditions)) for rule in rules],
        found.scopes,
        now=now,
    )
    if found.changes is not None:
        delta.clear_rechecks(found.changes.recheck_ids, now=now)
    return fired


def evaluate_mentions(
    mention_ids: Sequence[int],
    *,
    now: datetime,
    known: Mapping[int, facts.Facts] | None = None,
    rules: Sequence[EscalationRule] | None = None,
) -> None:
    """Fire the rules whose conditions the new mentions already meet.

    `rules`: the active rules, loaded once per poll by the caller (`active_rules`); None reads them here.

    Cheap on the ingest path: at most one query loads the page's mention fields (none for those in
    `known`); the conditions are applied in Python (facts.needs, then facts.matches: the same meaning
    as the sweep's SQL), loading clocks, stream links or assignment history only for the mentions a rule
    still needs them for. Nothing is written unless something matched.
    """
    if not mention_ids:
        return
    rules = active_rules() if rules is None else rules
    if not rules:
        return
    # `known`: complete facts of mentions ingest has just written (their fields, stream, clocks and no
    # assignment yet: what load_base + add_related would read back); the rest are read here.
    known = known or {}
    missing = [pk for pk in mention_ids if pk not in known]
    page = facts.load_base(missing) if missing else {}
    page |= {pk: known[pk] for pk in mention_ids if pk in known}
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
            if f.id in known:
                continue  # complete already
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
    # The actions read the assignee and team (and write back a few fields): not the raw payload.
    fired_mentions = (
        Mention.objects.select_related("assignee", "team")
        .defer("raw", "priority_reasons")
        .in_bulk(ids)
    )
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

    - Each rule is checked where it may have started to match since the previous sweep (its
      `now`, kept in SweepState, less change_window()): on the mentions whose facts changed and on
      the clocks that entered its window (mentions/escalation/delta.py). Without a previous sweep,
      on what changed within NEW_RULE_WINDOW.
    - A full evaluation (`full=True`, or, when `full` is None, the first sweep on any worker once
      FULL_EVALUATION seconds have passed) also checks the rules created, edited or enabled within
      NEW_RULE_WINDOW on every open mention, and every clock rule on every running clock.
    - Deliveries whose task was lost are re-queued (notify.requeue_stale).
    Returns how many firings this call made.
    """
    breached = sla.mark_breaches(now=now)
    if full is None:
        # cache.add is atomic (Redis SET NX): one sweep per period wins the full evaluation.
        full = cache.add(FULL_EVALUATION_KEY, now.isoformat(), timeout=FULL_EVALUATION)
    rules = active_rules()
    last = delta.last_swept_at()
    changed_since = (
        min(now, last) - change_window() if last is not None else now - NEW_RULE_WINDOW
    )
    fired = _run(rules, now=now, changed_since=changed_since, full=full)
    requeued = notify.requeue_stale(now=now)
    delta.record_sweep(now)
    if fired or breached or requeued:
        log.info(
            "escalation sweep: %d breaches marked, %d firings, %d notifications re-queued",
            len(breached),
            fired,
            requeued,
        )
    return fired
