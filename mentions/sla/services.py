"""SLA clock services: the functions other parts call when something happens to a mention.

The public API (other modules call exactly these; keep the signatures):
- `start_clocks(mention_ids, now=...)`: at ingest, in the ingest transaction, in bulk.
- `record_human_answer(mention, at=..., channel=..., user=...)`: responders, when X accepted a reply
  or DM, an email was sent, or a phone call was logged as reached.
- `on_status_change(mention, old=..., new=..., now=...)`: triage, after a status change.
- `mark_breaches(now=...)`: the escalation sweep, before it evaluates rules.

Placeholder bodies until the SLA work lands (they change nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from mentions.models import Mention


def start_clocks(mention_ids: Sequence[int], *, now: datetime) -> None:
    """Match each new mention to a policy and start its clocks; set Mention.sla_due_at."""


def record_human_answer(
    mention: Mention,
    *,
    at: datetime,
    channel: str,
    user: AbstractBaseUser | None = None,
) -> None:
    """Stop the running response clocks of the mention's thread that started at or before `at`."""


def on_status_change(mention: Mention, *, old: str, new: str, now: datetime) -> None:
    """Pause (waiting), resume, stop (resolved) or cancel (monitoring, spam) the mention's clocks."""


def mark_breaches(*, now: datetime) -> list[int]:
    """Mark running clocks past their due time as breached; return the ids newly breached."""
    return []
