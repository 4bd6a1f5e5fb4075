"""A rule's actions on one mention, through the triage services with actor=None (automated).

Called inside the firing's transaction: the history event, triage changes and notification rows
commit together with the firing row, and deliveries are enqueued only on commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from mentions import triage
from mentions.escalation import notify
from mentions.escalation.models import EscalationFiring, Notification
from mentions.history import record_event
from mentions.models import Mention, MentionEvent, Team
from mentions.sla.models import SlaClock


def describe_target(firing: EscalationFiring) -> str:
    if not firing.target:
        return ""
    label = SlaClock.Target(firing.target).label.lower()
    return f"{label} #{firing.cycle}" if firing.cycle > 1 else label


def team_members(team: Team) -> list[User]:
    return list(team.members.filter(is_active=True).order_by("pk"))


def email_recipients(
    mention: Mention,
    action: dict[str, Any],
    members: Callable[[Team], list[User]] = team_members,
) -> list[str]:
    """The addresses an email action goes to, de-duplicated, in a stable order.

    `members`: the team's active members in id order (batch.py passes a lookup cached per page).
    """
    to = action.get("to")
    if to == "addresses":
        found = [str(a) for a in action.get("addresses", [])]
    else:
        users: list[User] = []
        if to in {"assignee", "assignee_or_team"} and mention.assignee is not None:
            users = [mention.assignee]
        elif mention.team is not None and (
            to == "team" or (to == "assignee_or_team" and mention.assignee is None)
        ):
            users = members(mention.team)
        found = [u.email for u in users if u.is_active and u.email]
    return list(dict.fromkeys(a.strip().lower() for a in found if a.strip()))


def apply(firing: EscalationFiring, *, now: datetime) -> list[Notification]:
    """Record the firing in the mention's history, run the rule's actions, queue notifications."""
    rule, mention = firing.rule, firing.mention
    target = describe_target(firing)
    record_event(
        mention,
        MentionEvent.Kind.ESCALATION,
        f'Escalation rule "{rule.name}" fired' + (f" ({target})" if target else ""),
        data={
            "rule": rule.pk,
            "firing": firing.pk,
            "target": firing.target,
            "cycle": firing.cycle,
        },
        at=now,
    )
    notifications: list[Notification] = []
    for action in rule.actions:
        kind = action.get("type")
        if kind == "raise_priority":
            level = Mention.Priority(action["priority"])
            if (
                mention.priority < level
            ):  # raise only: never lowers what scoring or an agent set
                triage.set_priority(mention, level, actor=None, now=now)
        elif kind == "assign":
            _assign(mention, action, firing=firing, now=now)
        elif kind == "add_tag":
            triage.add_tags(mention, [action["tag"]], actor=None, now=now)
        elif kind == "add_note":
            triage.add_note(
                mention, f"[{rule.name}] {action['body']}", actor=None, now=now
            )
        elif kind == "notify_email":
            addresses = email_recipients(mention, action)
            if not addresses:
                record_event(
                    mention,
                    MentionEvent.Kind.ESCALATION,
                    f'Escalation rule "{rule.name}": no one to email (no assignee or team members with an address)',
                    data={"rule": rule.pk, "firing": firing.pk},
                    at=now,
                )
            for address in addresses:
                notifications.append(
                    notify.queue(firing, Notification.Channel.EMAIL, address, now=now)
                )
        elif kind == "webhook":
            notifications.append(
                notify.queue(
                    firing, Notification.Channel.WEBHOOK, action["url"], now=now
                )
            )
    return notifications


def _assign(
    mention: Mention, action: dict[str, Any], *, firing: EscalationFiring, now: datetime
) -> None:
    agent = (
        User.objects.filter(pk=action["agent"], is_active=True).first()
        if action.get("agent") is not None
        else None
    )
    team = (
        Team.objects.filter(pk=action["team"]).first()
        if action.get("team") is not None
        else None
    )
    if (action.get("agent") is not None and agent is None) or (
        action.get("team") is not None and team is None
    ):
        # The agent or team was removed after the rule was saved: say so rather than guess.
        record_event(
            mention,
            MentionEvent.Kind.ESCALATION,
            f'Escalation rule "{firing.rule.name}" could not assign: its agent or team no longer exists',
            data={"rule": firing.rule_id, "firing": firing.pk},
            at=now,
        )
        return
    triage.assign_mention(
        mention,
        assignee=agent if agent is not None else mention.assignee,
        team=team,
        actor=None,
        now=now,
    )
