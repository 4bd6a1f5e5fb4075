"""Triage services: assign, change status or priority, tag, and note a mention.

Each function does the whole change in one transaction, records it in the mention's history, bumps
`updated_at` (the live queue's change cursor) and tells the SLA clocks. The `bulk_*` versions apply
the same change to many mentions in one transaction, with one history event per mention. `actor=None` means an automated action (an escalation rule); automated actions
never stop a response clock (only `sla.record_human_answer` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from mentions.history import record_event
from mentions.models import Mention, MentionEvent, Note, Tag, Team
from mentions.sla import services as sla


def _touch(mention: Mention, now: datetime) -> None:
    mention.updated_at = now
    Mention.objects.filter(pk=mention.pk).update(updated_at=now)


def _who(actor: User | None) -> str:
    return actor.get_username() if actor is not None else "Escalation rule"


@transaction.atomic
def assign_mention(
    mention: Mention,
    *,
    assignee: User | None,
    team: Team | None = None,
    actor: User | None,
    now: datetime,
) -> None:
    """Assign to an agent (or clear) and optionally a team; a new mention becomes open."""
    old_status = mention.status
    mention.assignee = assignee
    mention.updated_at = now
    fields = ["assignee", "updated_at"]
    if team is not None:
        mention.team = team
        fields.append("team")
    if assignee is not None and mention.status == Mention.Status.NEW:
        mention.status = Mention.Status.OPEN
        fields.append("status")
    mention.save(update_fields=fields)
    target = assignee.get_username() if assignee is not None else "nobody"
    message = f"{_who(actor)} assigned it to {target}"
    if team is not None:
        message += f" (team {team.name})"
    record_event(
        mention,
        MentionEvent.Kind.ASSIGNED,
        message,
        actor=actor,
        data={
            "assignee": assignee.pk if assignee else None,
            "team": team.pk if team else None,
        },
        at=now,
    )
    if mention.status != old_status:
        sla.on_status_change(mention, old=old_status, new=mention.status, now=now)


@transaction.atomic
def set_status(
    mention: Mention, status: Mention.Status, *, actor: User | None, now: datetime
) -> None:
    """Move the mention to `status` and pause, resume, stop or cancel its clocks to match."""
    old = mention.status
    if old == status:
        return
    mention.status = status
    mention.updated_at = now
    mention.save(update_fields=["status", "updated_at"])
    record_event(
        mention,
        MentionEvent.Kind.STATUS,
        f"{_who(actor)} changed the status from {Mention.Status(old).label} to {status.label}",
        actor=actor,
        data={"old": old, "new": status.value},
        at=now,
    )
    sla.on_status_change(mention, old=old, new=status, now=now)


@transaction.atomic
def set_priority(
    mention: Mention,
    priority: Mention.Priority,
    *,
    actor: User | None,
    now: datetime,
) -> None:
    """Set the priority; an agent's choice is an override that scoring never recomputes."""
    old = mention.priority
    if old == priority:
        return
    mention.priority = priority
    mention.updated_at = now
    fields = ["priority", "updated_at"]
    if actor is not None:
        mention.is_priority_overridden = True
        fields.append("is_priority_overridden")
    mention.save(update_fields=fields)
    record_event(
        mention,
        MentionEvent.Kind.PRIORITY,
        f"{_who(actor)} changed the priority from {Mention.Priority(old).label} to {priority.label}",
        actor=actor,
        data={"old": old, "new": int(priority)},
        at=now,
    )


@transaction.atomic
def add_tags(
    mention: Mention, names: Iterable[str], *, actor: User | None, now: datetime
) -> list[Tag]:
    """Add tags by name (created on first use); returns the tags that were new on this mention."""
    clean = sorted({n.strip().lower() for n in names if n.strip()})
    existing = set(mention.tags.values_list("name", flat=True))
    added = []
    for name in clean:
        if name in existing:
            continue
        tag, _ = Tag.objects.get_or_create(name=name)
        mention.tags.add(tag)
        added.append(tag)
    if added:
        _touch(mention, now)
        record_event(
            mention,
            MentionEvent.Kind.TAGGED,
            f"{_who(actor)} tagged it " + ", ".join(t.name for t in added),
            actor=actor,
            data={"tags": [t.name for t in added]},
            at=now,
        )
    return added


@transaction.atomic
def remove_tag(
    mention: Mention, tag: Tag, *, actor: User | None, now: datetime
) -> None:
    mention.tags.remove(tag)
    _touch(mention, now)
    record_event(
        mention,
        MentionEvent.Kind.UNTAGGED,
        f"{_who(actor)} removed the tag {tag.name}",
        actor=actor,
        data={"tag": tag.name},
        at=now,
    )


@transaction.atomic
def add_note(mention: Mention, body: str, *, actor: User | None, now: datetime) -> Note:
    """An internal note: shown in the workspace, never sent anywhere."""
    note = Note.objects.create(mention=mention, author=actor, body=body, created_at=now)
    record_event(
        mention,
        MentionEvent.Kind.NOTE,
        f"{_who(actor)} added an internal note",
        actor=actor,
        data={"note": note.pk},
        at=now,
    )
    return note


def _bulk(mention_ids: Sequence[int], change: Callable[[Mention], object]) -> list[int]:
    """Lock the mentions in id order (two bulk actions never deadlock) and change each; returns the ids found."""
    with transaction.atomic():
        mentions = list(
            Mention.objects.select_for_update()
            .filter(pk__in=mention_ids)
            .order_by("pk")
        )
        for mention in mentions:
            change(mention)
    return [m.pk for m in mentions]


def bulk_assign(
    mention_ids: Sequence[int],
    *,
    assignee: User | None,
    team: Team | None = None,
    actor: User | None,
    now: datetime,
) -> list[int]:
    return _bulk(
        mention_ids,
        lambda m: assign_mention(m, assignee=assignee, team=team, actor=actor, now=now),
    )


def bulk_set_status(
    mention_ids: Sequence[int],
    status: Mention.Status,
    *,
    actor: User | None,
    now: datetime,
) -> list[int]:
    return _bulk(mention_ids, lambda m: set_status(m, status, actor=actor, now=now))


def bulk_set_priority(
    mention_ids: Sequence[int],
    priority: Mention.Priority,
    *,
    actor: User | None,
    now: datetime,
) -> list[int]:
    return _bulk(mention_ids, lambda m: set_priority(m, priority, actor=actor, now=now))


def bulk_add_tags(
    mention_ids: Sequence[int],
    names: Iterable[str],
    *,
    actor: User | None,
    now: datetime,
) -> list[int]:
    names = list(names)
    return _bulk(mention_ids, lambda m: add_tags(m, names, actor=actor, now=now))
