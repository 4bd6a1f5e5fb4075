"""Escalation services.

The public API (other modules call exactly these; keep the signatures):
- `evaluate_mentions(mention_ids, now=...)`: at ingest, after the SLA clocks started, in the ingest
  transaction.
- `sweep(now=...)`: the beat sweep (marks breaches through mentions.sla, then evaluates every rule).

Placeholder bodies until the escalation work lands (they change nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def evaluate_mentions(mention_ids: Sequence[int], *, now: datetime) -> None:
    """Fire the rules whose conditions the new mentions already meet."""


def sweep(*, now: datetime) -> None:
    """Mark breaches, then fire every rule whose conditions a running mention meets."""
