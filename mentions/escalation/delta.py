"""What may have started to match since the last sweep: the sweep's candidates, from indexes.

A rule that has been checked against every open mention (when it was created, edited or enabled:
services.NEW_RULE_WINDOW) can only start matching a mention when one of its facts changes. Each
kind of fact has a change marker that a sweep reads through an index or a narrow table, so a sweep
reads the rows that changed since the last sweep instead of every open mention:

| fact | what marks the change | read through |
| --- | --- | --- |
| the mention's own fields (status, priority, sentiment, team, assignee, tags, SLA due times) | `Mention.updated_at` (triage and the SLA services bump it) | `mentions_mention_updated` |
| an "unassigned for X" age crossing X since the post | `Mention.created_at` + X | `mentions_mention_queue` |
| ... since the last assignment change | a `Recheck` row at that change + X, written by the sweep that saw the change | `escalation_recheck_due` |
| the author's followers | `Author.updated_at` (ingest refreshes the profile) | a scan of the authors, then `mentions_mention_author` |
| one more stream matching the mention | `MentionStream.matched_at` | the stream links of the rule's streams |
| a clock entering a rule's window as time passes | `SlaClock.due_at` | `sla_slaclock_running_due` |
| a clock's own fields (new cycle, pause, resume, policy re-applied) | `Mention.updated_at` (the SLA services bump it with every clock change) | `mentions_mention_updated` |

`since` is the `now` of the latest completed sweep (`SweepState`) less `services.change_window()`,
an overlap for transactions that were still open then (their rows carry an earlier time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max, Q

from mentions.escalation.models import Recheck, SweepState
from mentions.escalation.rules import OPEN_STATUSES, Conditions
from mentions.models import Mention, MentionEvent, MentionStream


@dataclass
class Changes:
    """The mentions whose facts may have changed in (since, now], by kind of fact."""

    since: datetime
    now: datetime
    changed: set[int] = field(default_factory=set)
    # "unassigned for X": X (minutes) -> the mentions whose post time crossed X.
    crossed: dict[int, set[int]] = field(default_factory=dict)
    # rule id -> the mentions whose Recheck came due.
    rechecks: dict[int, set[int]] = field(default_factory=dict)
    recheck_ids: set[int] = field(default_factory=set)
    # Open mentions whose author changed (with at least the smallest follower threshold of the rules).
    authors: set[int] = field(default_factory=set)
    # stream id -> the mentions it matched since `since`.
    linked: dict[int, set[int]] = field(default_factory=dict)

    def for_rule(self, rule_id: int, conditions: Conditions) -> set[int]:
        """The mentions on which the rule may have started to match (clock windows aside)."""
        ids = set(self.changed)
        if "unassigned_minutes" in conditions:
            ids |= self.crossed.get(conditions["unassigned_minutes"], set())
            ids |= self.rechecks.get(rule_id, set())
        if "min_followers" in conditions:
            ids |= self.authors
        for stream_id in conditions.get("streams") or []:
            ids |= self.linked.get(stream_id, set())
        return ids


@dataclass
class Scope:
    """The mentions a sweep checked a rule on: ids, id ranges (lo < id <= hi), or all open ones."""

    ids: set[int] = field(default_factory=set)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    all: bool = False

    def __contains__(self, mention_id: object) -> bool:
        if self.all or mention_id in self.ids:
            return True
        return isinstance(mention_id, int) and any(
            lo < mention_id <= hi for lo, hi in self.ranges
        )

    def q(self, field_name: str) -> Q:
        """A filter on a mention id field; Q() (no filter) for all of them."""
        if self.all:
            return Q()
        q = Q(**{f"{field_name}__in": sorted(self.ids)})
        for lo, hi in self.ranges:
            q |= Q(**{f"{field_name}__gt": lo, f"{field_name}__lte": hi})
        return q

    @property
    def empty(self) -> bool:
        return not (self.all or self.ids or self.ranges)


def last_swept_at() -> datetime | None:
    return SweepState.objects.filter(pk=1).values_list("swept_at", flat=True).first()


def record_sweep(now: datetime) -> None:
    """Move the sweeps' watermark to `now` (never backwards; racing sweeps are fine)."""
    if not SweepState.objects.filter(pk=1, swept_at__lt=now).update(swept_at=now):
        SweepState.objects.bulk_create(
            [SweepState(pk=1, swept_at=now)], ignore_conflicts=True
        )


def load(
    rules: Sequence[tuple[int, Conditions]], *, since: datetime, now: datetime
) -> Changes:
    """The changed mentions the rules need, in at most five small queries (each only if some rule
    reads that kind of fact), and the due rechecks."""
    changes = Changes(since=since, now=now)
    # Every due recheck, also those of rules disabled or edited since: clear_rechecks drops them all.
    for pk, rule_id, mention_id in Recheck.objects.filter(due_at__lte=now).values_list(
        "pk", "rule_id", "mention_id"
    ):
        changes.recheck_ids.add(pk)
        changes.rechecks.setdefault(rule_id, set()).add(mention_id)
    if not rules:
        return changes
    changes.changed = set(
        Mention.objects.filter(updated_at__gte=since).values_list("pk", flat=True)
    )
    conditions = [c for _, c in rules]
    ages = sorted(
        {c["unassigned_minutes"] for c in conditions if "unassigned_minutes" in c}
    )
    if ages:
        crossing = Q(pk__in=[])
        for minutes in ages:
            age = timedelta(minutes=minutes)
            crossing |= Q(created_at__gt=since - age, created_at__lte=now - age)
        for pk, created_at in Mention.objects.filter(
            crossing, assignee__isnull=True, status__in=OPEN_STATUSES
        ).values_list("pk", "created_at"):
            for minutes in ages:
                age = timedelta(minutes=minutes)
                if since - age < created_at <= now - age:
                    changes.crossed.setdefault(minutes, set()).add(pk)
    thresholds = [c["min_followers"] for c in conditions if "min_followers" in c]
    if thresholds:
        # Starts from the authors (a narrow table) and reaches their mentions by the author index.
        changes.authors = set(
            Mention.objects.filter(
                author__updated_at__gte=since,
                author__followers_count__gte=min(thresholds),
                status__in=OPEN_STATUSES,
            ).values_list("pk", flat=True)
        )
    streams = sorted({s for c in conditions for s in c.get("streams") or []})
    if streams:
        for mention_id, stream_id in MentionStream.objects.filter(
            stream_id__in=streams, matched_at__gte=since
        ).values_list("mention_id", "stream_id"):
            changes.linked.setdefault(stream_id, set()).add(mention_id)
    return changes


def schedule_rechecks(
    rules: Sequence[tuple[int, Conditions]],
    scopes: dict[int, Scope],
    *,
    now: datetime,
) -> None:
    """For "unassigned for X" rules: remember when a recent assignment change stops blocking them.

    `scopes` holds, per rule, the mentions this sweep checked it on. For each of them that is open
    and unassigned with an assignment change less than X minutes ago, a Recheck at that change + X
    (replacing an earlier one) brings it back to a later sweep.
    """
    ages = {
        rule_id: c["unassigned_minutes"]
        for rule_id, c in rules
        if "unassigned_minutes" in c and rule_id in scopes and not scopes[rule_id].empty
    }
    if not ages:
        return
    longest = timedelta(minutes=max(ages.values()))
    where = Q(pk__in=[])
    for rule_id in ages:
        where |= scopes[rule_id].q("mention_id")
    last = dict(
        MentionEvent.objects.filter(
            where,
            kind=MentionEvent.Kind.ASSIGNED,
            created_at__gt=now - longest,
            mention__assignee__isnull=True,
            mention__status__in=OPEN_STATUSES,
        )
        .values("mention_id")
        .annotate(last=Max("created_at"))
        .order_by()
        .values_list("mention_id", "last")
    )
    rows = []
    for rule_id, minutes in ages.items():
        for mention_id, changed_at in last.items():
            due = changed_at + timedelta(minutes=minutes)
            if due > now and mention_id in scopes[rule_id]:
                rows.append(Recheck(rule_id=rule_id, mention_id=mention_id, due_at=due))
    if rows:
        Recheck.objects.bulk_create(
            sorted(rows, key=lambda r: (r.rule_id, r.mention_id)),
            update_conflicts=True,
            unique_fields=["rule", "mention"],
            update_fields=["due_at"],
        )


def clear_rechecks(loaded: Iterable[int], *, now: datetime) -> None:
    """Drop the due rechecks this sweep loaded and has now done.

    Only those rows (by id), and only while still due: one that this sweep rescheduled to a later
    time stays, and so does one that a racing sweep wrote after this one loaded its rows.
    """
    ids = sorted(loaded)
    if ids:
        Recheck.objects.filter(pk__in=ids, due_at__lte=now).delete()
