"""The mention's history (MentionEvent rows): one function every service calls to record what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from mentions.models import Mention, MentionEvent


def record_event(
    mention: Mention | int,
    kind: MentionEvent.Kind,
    message: str,
    *,
    actor: AbstractBaseUser | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> MentionEvent:
    """Append one event to a mention's history (call it inside the service's transaction)."""
    event = MentionEvent(
        mention_id=mention if isinstance(mention, int) else mention.pk,
        actor_id=actor.pk if actor is not None else None,
        kind=kind,
        message=message,
        data=data or {},
    )
    if at is not None:
        event.created_at = at
    event.save()
    return event
