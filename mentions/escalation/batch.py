"""Applying the firings of a freshly ingested page in bulk: the same writes as actions.apply, in a few queries.

At ingest (`services.evaluate_mentions`) a page of 100 new mentions commonly fires several rules on
several mentions. `actions.apply` goes through the triage services one firing at a time (a savepoint,
an UPDATE, a history event, lookups of the rule's agent, team and tag, one notification row at a time),
6 to 10 round trips a firing, which made the rules most of the cost of enrichment at ingest.

`apply_new` produces exactly what `actions.apply` would for every firing, in the same order, but builds
the changes in memory and writes them once: one UPDATE of the changed mentions, one INSERT of the history
events, one of the notes, one of the tag links and one of the notifications; the rules' agents, teams,
tags and team members are looked up once. It only takes mentions that are still `new` (what ingest
creates); anything else goes through `actions.apply` (see `services.evaluate_mentions`).

Why skipping `sla.on_status_change` is exact: an assignment moves a new mention to open, and
new -> open changes no clock (both states run every clock), so the per-firing path only re-reads
the clocks there. tests/escalation/test_batch.py holds the two paths to the same database state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from mentions.escalation.actions import describe_target, email_recipients, team_members
from mentions.escalation.models import EscalationFiring, EscalationRule, Notification
from mentions.models import Mention, MentionEvent, Note, Tag, Team

_WHO = "Escalation rule"  # triage._who(None): the history's actor for automated actions


@dataclass
class _Page:
    """What the batch writes at the end, collected in the order actions.apply would write it."""

    now: datetime
    events: list[MentionEvent] = field(default_factory=list)
    # (note, the index of its history event, whose data needs the note's id)
    notes: list[tuple[Note, int]] = field(default_factory=list)
    tag_links: list[Any] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    dirty: dict[int, set[str]] = field(default_factory=dict)

    def event(
        self,
        mention: Mention,
        kind: MentionEvent.Kind,
        message: str,
        data: dict[str, Any],
    ) -> int:
        self.events.append(
            MentionEvent(
                mention_id=mention.pk,
                actor_id=None,
                kind=kind,
                message=message,
                data=data,
                created_at=self.now,
            )
        )
        return len(self.events) - 1

    def touch(self, mention: Mention, *fields: str) -> None:
        mention.updated_at = self.now
        self.dirty.setdefault(mention.pk, set()).update((*fields, "updated_at"))


class _Lookups:
    """The rules' agents, teams, tags and team members, each read once per page."""

    def __init__(self) -> None:
        self.users: dict[int, User | None] = {}
        self.teams: dict[int, Team | None] = {}
        self.tags: dict[str, Tag] = {}
        self.members: dict[int, list[User]] = {}

    def user(self, pk: int) -> User | None:
        if pk not in self.users:
            self.users[pk] = User.objects.filter(pk=pk, is_active=True).first()
        return self.users[pk]

    def team(self, pk: int) -> Team | None:
        if pk not in self.teams:
            self.teams[pk] = Team.objects.filter(pk=pk).first()
        return self.teams[pk]

    def tag(self, name: str) -> Tag:
        if name not in self.tags:
            self.tags[name] = Tag.objects.get_or_create(name=name)[0]
        return self.tags[name]

    def team_members(self, team: Team) -> list[User]:
        if team.pk not in self.members:
            self.members[team.pk] = team_members(team)
        return self.members[team.pk]


def _apply(
    page: _Page,
    lookups: _Lookups,
    rule: EscalationRule,
    firing: EscalationFiring,
    mention: Mention,
    tags: set[str],
) -> None:
    """actions.apply for one firing, into `page` (same events, same order, same changes)."""
    target = describe_target(firing)
    page.event(
        mention,
        MentionEvent.Kind.ESCALATION,
        f'Escalation rule "{rule.name}" fired' + (f" ({target})" if target else ""),
        {
            "rule": rule.pk,
            "firing": firing.pk,
            "target": firing.target,
            "cycle": firing.cycle,
        },
    )
    for action in rule.actions:
        kind = action.get("type")
        if kind == "raise_priority":
            level = Mention.Priority(action["priority"])
            if mention.priority < level:
                old = mention.priority
                mention.priority = level
                page.touch(mention, "priority")
                page.event(
                    mention,
                    MentionEvent.Kind.PRIORITY,
                    f"{_WHO} changed the priority from {Mention.Priority(old).label} to {level.label}",
                    {"old": old, "new": int(level)},
                )
        elif kind == "assign":
            _assign(page, lookups, rule, firing, mention, action)
        elif kind == "add_tag":
            name = str(action["tag"]).strip().lower()
            if name and name not in tags:
                tag = lookups.tag(name)
                tags.add(name)
                page.tag_links.append(
                    Mention.tags.through(mention_id=mention.pk, tag_id=tag.pk)
                )
                page.touch(mention)
                page.event(
                    mention,
                    MentionEvent.Kind.TAGGED,
                    f"{_WHO} tagged it {tag.name}",
                    {"tags": [tag.name]},
                )
        elif kind == "add_note":
            note = Note(
                mention_id=mention.pk,
                author=None,
                body=f"[{rule.name}] {action['body']}",
                created_at=page.now,
            )
            index = page.event(
                mention, MentionEvent.Kind.NOTE, f"{_WHO} added an internal note", {}
            )
            page.notes.append((note, index))
        elif kind == "notify_email":
            addresses = email_recipients(mention, action, lookups.team_members)
            if not addresses:
                page.event(
                    mention,
                    MentionEvent.Kind.ESCALATION,
                    f'Escalation rule "{rule.name}": no one to email (no assignee or team members with an address)',
                    {"rule": rule.pk, "firing": firing.pk},
                )
            for address in addresses:
                page.notifications.append(
                    _notification(firing, Notification.Channel.EMAIL, address, page.now)
                )
        elif kind == "webhook":
            page.notifications.append(
                _notification(
                    firing, Notification.Channel.WEBHOOK, action["url"], page.now
                )
            )


def _notification(
    firing: EscalationFiring, channel: str, destination: str, now: datetime
) -> Notification:
    return Notification(
        firing=firing,
        channel=channel,
        destination=destination,
        next_attempt_at=now,
        created_at=now,
    )


def _assign(
    page: _Page,
    lookups: _Lookups,
    rule: EscalationRule,
    firing: EscalationFiring,
    mention: Mention,
    action: dict[str, Any],
) -> None:
    agent = lookups.user(action["agent"]) if action.get("agent") is not None else None
    team = lookups.team(action["team"]) if action.get("team") is not None else None
    if (action.get("agent") is not None and agent is None) or (
        action.get("team") is not None and team is None
    ):
        page.event(
            mention,
            MentionEvent.Kind.ESCALATION,
            f'Escalation rule "{rule.name}" could not assign: its agent or team no longer exists',
            {"rule": rule.pk, "firing": firing.pk},
        )
        return
    assignee = agent if agent is not None else mention.assignee
    mention.assignee = assignee
    fields = ["assignee"]
    if team is not None:
        mention.team = team
        fields.append("team")
    if assignee is not None and mention.status == Mention.Status.NEW:
        mention.status = (
            Mention.Status.OPEN
        )  # new -> open: no clock changes (module docstring)
        fields.append("status")
    page.touch(mention, *fields)
    who = assignee.get_username() if assignee is not None else "nobody"
    message = f"{_WHO} assigned it to {who}"
    if team is not None:
        message += f" (team {team.name})"
    page.event(
        mention,
        MentionEvent.Kind.ASSIGNED,
        message,
        {
            "assignee": assignee.pk if assignee else None,
            "team": team.pk if team else None,
        },
    )


def apply_new(
    fired: Sequence[tuple[EscalationRule, Sequence[tuple[int, int, str, int]]]],
    mentions: dict[int, Mention],
    *,
    now: datetime,
) -> None:
    """Apply the firings `(rule, [(firing id, mention id, target, cycle), ...])`, rules in order.

    `mentions`: the fired mentions, loaded with assignee, team and author, all with status `new`; they
    are changed in place. Call inside the transaction that inserted the firings.
    """
    from mentions.escalation.tasks import deliver_notification_task

    page = _Page(now=now)
    lookups = _Lookups()
    tags: dict[int, set[str]] = {pk: set() for pk in mentions}
    for link in Mention.tags.through.objects.filter(
        mention_id__in=list(mentions)
    ).values("mention_id", "tag__name"):
        tags[link["mention_id"]].add(link["tag__name"])
    for rule, rows in fired:
        for firing_id, mention_id, target, cycle in rows:
            firing = EscalationFiring(
                pk=firing_id,
                rule=rule,
                mention=mentions[mention_id],
                target=target,
                cycle=cycle,
                fired_at=now,
            )
            _apply(page, lookups, rule, firing, mentions[mention_id], tags[mention_id])
    if page.dirty:
        changed = [mentions[pk] for pk in sorted(page.dirty)]
        fields = sorted(set().union(*page.dirty.values()))
        Mention.objects.bulk_update(changed, fields)
    if page.notes:
        Note.objects.bulk_create([note for note, _ in page.notes])
        for note, index in page.notes:
            page.events[index].data = {"note": note.pk}
    if page.tag_links:
        Mention.tags.through.objects.bulk_create(page.tag_links, ignore_conflicts=True)
    if page.events:
        MentionEvent.objects.bulk_create(page.events)
    if page.notifications:
        created = Notification.objects.bulk_create(page.notifications)
        ids = [n.pk for n in created]

        def enqueue() -> None:
            for pk in ids:
                deliver_notification_task.delay(pk)

        transaction.on_commit(enqueue)
