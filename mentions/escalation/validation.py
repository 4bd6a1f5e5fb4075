"""Validation of a rule's conditions and actions (the shapes are in rules.py).

The settings form translates its fields into JSON and then calls these, so a rule saved any other
way is held to the same rules. Each returns the problems as sentences (empty when valid).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from mentions.escalation.rules import (
    ACTION_TYPES,
    EMAIL_RECIPIENTS,
    MAX_KEYWORDS,
    MAX_NOTE_LENGTH,
    TARGETS,
    Conditions,
)
from mentions.models import Mention, Stream, Team


def _int(value: Any, name: str, errors: list[str], *, minimum: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        errors.append(f"{name} must be a whole number ≥ {minimum}.")


def check_conditions(conditions: Any) -> list[str]:
    """Return what is wrong with `conditions` (empty when valid); reads the database for ids."""
    if not isinstance(conditions, dict) or not conditions:
        return ["A rule needs at least one condition."]
    errors: list[str] = []
    known = set(Conditions.__annotations__)
    for key in conditions:
        if key not in known:
            errors.append(f"Unknown condition {key!r}.")
    clock = conditions.get("clock")
    if clock is not None:
        if not isinstance(clock, dict) or clock.get("target") not in TARGETS:
            errors.append("Choose which SLA target the clock condition watches.")
        elif ("due_within_minutes" in clock) == bool(clock.get("breached")):
            errors.append(
                "A clock condition is either 'due within X minutes' or 'breached', not both or neither."
            )
        elif "due_within_minutes" in clock:
            _int(clock["due_within_minutes"], "Due within (minutes)", errors, minimum=1)
    if "unassigned_minutes" in conditions:
        _int(conditions["unassigned_minutes"], "Unassigned for (minutes)", errors)
    if (
        "min_priority" in conditions
        and conditions["min_priority"] not in Mention.Priority.values
    ):
        errors.append("Priority must be one of 1 (low) to 4 (urgent).")
    if "max_sentiment" in conditions:
        value = conditions["max_sentiment"]
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not -1 <= value <= 1
        ):
            errors.append("Sentiment must be a number between -1 and 1.")
    if "min_followers" in conditions:
        _int(conditions["min_followers"], "Followers", errors)
    if "keywords" in conditions:
        words = conditions["keywords"]
        if (
            not isinstance(words, list)
            or not words
            or len(words) > MAX_KEYWORDS
            or not all(isinstance(w, str) and w.strip() for w in words)
        ):
            errors.append(f"Keywords must be 1 to {MAX_KEYWORDS} non-empty words.")
    for key, model, label in (("streams", Stream, "stream"), ("teams", Team, "team")):
        if key in conditions:
            ids = conditions[key]
            if (
                not isinstance(ids, list)
                or not ids
                or not all(isinstance(i, int) for i in ids)
            ):
                errors.append(f"Choose at least one {label}.")
                continue
            missing = set(ids) - set(
                model.objects.filter(pk__in=ids).values_list("pk", flat=True)
            )
            if missing:
                errors.append(
                    f"Unknown {label} id(s): {', '.join(map(str, sorted(missing)))}."
                )
    return errors


def check_actions(actions: Any) -> list[str]:
    """Return what is wrong with `actions` (empty when valid); reads the database for ids."""
    if not isinstance(actions, list) or not actions:
        return ["A rule needs at least one action."]
    errors: list[str] = []
    for action in actions:
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTION_TYPES:
            errors.append(f"Unknown action {kind!r}.")
        elif kind == "raise_priority":
            if action.get("priority") not in Mention.Priority.values:
                errors.append("Raise priority: choose a priority.")
        elif kind == "assign":
            agent, team = action.get("agent"), action.get("team")
            if agent is None and team is None:
                errors.append("Assign: choose an agent or a team.")
            if (
                agent is not None
                and not User.objects.filter(pk=agent, is_active=True).exists()
            ):
                errors.append(f"Assign: unknown agent {agent!r}.")
            if team is not None and not Team.objects.filter(pk=team).exists():
                errors.append(f"Assign: unknown team {team!r}.")
        elif kind == "add_tag":
            tag = action.get("tag")
            if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > 50:
                errors.append("Add a tag: the tag must be 1 to 50 characters.")
        elif kind == "add_note":
            body = action.get("body")
            if (
                not isinstance(body, str)
                or not body.strip()
                or len(body) > MAX_NOTE_LENGTH
            ):
                errors.append(
                    f"Add a note: the note must be 1 to {MAX_NOTE_LENGTH} characters."
                )
        elif kind == "notify_email":
            errors += _check_email(action)
        elif kind == "webhook":
            errors += check_webhook_url(action.get("url"))
    return errors


def _check_email(action: dict[str, Any]) -> list[str]:
    to = action.get("to")
    if to not in EMAIL_RECIPIENTS:
        return ["Notify by email: choose the recipients."]
    if to != "addresses":
        return []
    addresses = action.get("addresses")
    if not isinstance(addresses, list) or not addresses:
        return ["Notify by email: give at least one address."]
    bad = []
    for address in addresses:
        try:
            EmailValidator()(address)
        except ValidationError:
            bad.append(str(address))
    return [f"Notify by email: not an email address: {', '.join(bad)}."] if bad else []


def check_webhook_url(url: Any) -> list[str]:
    if not isinstance(url, str) or not url:
        return ["Webhook: give the URL to post to."]
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        # URLValidator refuses "localhost"-less loopback forms such as http://127.0.0.1:8080/x only
        # when malformed; a scheme and host are what a delivery needs.
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            return [f"Webhook: {url!r} is not an http(s) URL."]
    return []
