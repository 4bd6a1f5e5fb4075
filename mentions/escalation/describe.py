"""Plain-language summaries of a rule's conditions and actions for the settings pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User

from mentions.escalation.models import EscalationRule
from mentions.escalation.rules import EMAIL_RECIPIENTS
from mentions.models import Mention, Stream, Team
from mentions.sla.models import SlaClock


@dataclass
class Names:
    """Id -> name for the streams, teams and agents rules refer to (loaded once per page)."""

    streams: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    agents: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, rules: Iterable[EscalationRule]) -> Names:
        streams: set[int] = set()
        teams: set[int] = set()
        agents: set[int] = set()
        for rule in rules:
            streams.update(rule.conditions.get("streams", []))
            teams.update(rule.conditions.get("teams", []))
            for action in rule.actions:
                if action.get("type") == "assign":
                    if action.get("team") is not None:
                        teams.add(action["team"])
                    if action.get("agent") is not None:
                        agents.add(action["agent"])
        return cls(
            streams=dict(
                Stream.objects.filter(pk__in=streams).values_list("pk", "name")
            ),
            teams=dict(Team.objects.filter(pk__in=teams).values_list("pk", "name")),
            agents=dict(
                User.objects.filter(pk__in=agents).values_list("pk", "username")
            ),
        )


def _names(ids: Iterable[int], known: dict[int, str]) -> str:
    return ", ".join(known.get(i, f"#{i} (deleted)") for i in ids)


def conditions(rule: EscalationRule, names: Names) -> list[str]:
    c: dict[str, Any] = rule.conditions
    out = []
    clock = c.get("clock")
    if clock:
        target = SlaClock.Target(clock["target"]).label.lower()
        if clock.get("breached"):
            out.append(f"{target} is breached")
        else:
            out.append(f"{target} is due within {clock['due_within_minutes']} min")
    if "unassigned_minutes" in c:
        out.append(f"unassigned for {c['unassigned_minutes']} min")
    if "min_priority" in c:
        out.append(f"priority ≥ {Mention.Priority(c['min_priority']).label}")
    if "max_sentiment" in c:
        out.append(f"sentiment ≤ {c['max_sentiment']}")
    if "min_followers" in c:
        out.append(f"author has ≥ {c['min_followers']:,} followers")
    if c.get("keywords"):
        out.append("text contains any of: " + ", ".join(c["keywords"]))
    if c.get("streams"):
        out.append("matched by " + _names(c["streams"], names.streams))
    if c.get("teams"):
        out.append("team is " + _names(c["teams"], names.teams))
    return out


def actions(rule: EscalationRule, names: Names) -> list[str]:
    out = []
    for a in rule.actions:
        kind = a.get("type")
        if kind == "raise_priority":
            out.append(f"raise the priority to {Mention.Priority(a['priority']).label}")
        elif kind == "assign":
            who = []
            if a.get("agent") is not None:
                who.append(_names([a["agent"]], names.agents))
            if a.get("team") is not None:
                who.append("team " + _names([a["team"]], names.teams))
            out.append("assign to " + " in ".join(who))
        elif kind == "add_tag":
            out.append(f"tag {a['tag']}")
        elif kind == "add_note":
            out.append(f"add the note “{a['body']}”")
        elif kind == "notify_email":
            to = EMAIL_RECIPIENTS.get(a.get("to", ""), "?").lower()
            if a.get("to") == "addresses":
                to = ", ".join(a.get("addresses", []))
            out.append(f"email {to}")
        elif kind == "webhook":
            out.append(f"post to {a['url']}")
    return out
