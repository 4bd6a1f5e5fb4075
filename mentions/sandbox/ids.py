"""X-style snowflake ids for sandbox posts, DM events and users.

An id is `(ms_since_epoch - TWEPOCH) << 22 | sequence`, so `since_id`/`until_id` comparisons and the
"snowflake of a time" trick from xapi/README.md §3.3 work against the sandbox as against X.

- Live items (created now) take `max(time_bits, last + 1)` from one locked sequence row, so ids are
  strictly increasing across threads and processes (the row lock serialises writers; on SQLite the
  IMMEDIATE transaction mode does the same).
- Users are always created "now".
- Backdated items (seeded history) take the first free id inside their own millisecond, so their id
  still matches their `created_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import models, transaction

from mentions.sandbox.models import SandboxDMEvent, SandboxIdSequence, SandboxPost

TWEPOCH_MS = 1288834974657
SEQUENCE_BITS = 22
# An item created more than this before "now" counts as backdated.
BACKDATED_AFTER = timedelta(seconds=2)


def time_bits(when: datetime) -> int:
    ms = int(when.timestamp() * 1000)
    return (ms - TWEPOCH_MS) << SEQUENCE_BITS


def snowflake_time(snowflake: int) -> datetime:
    """The creation time encoded in a snowflake id (millisecond precision)."""
    ms = (snowflake >> SEQUENCE_BITS) + TWEPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _max_id_in(
    model: type[SandboxPost] | type[SandboxDMEvent], low: int, high: int
) -> int | None:
    found: int | None = model.objects.filter(id__gte=low, id__lt=high).aggregate(
        m=models.Max("id")
    )["m"]
    return found


def next_id(created_at: datetime, *, now: datetime) -> int:
    """A new unique snowflake for an item created at `created_at`."""
    base = time_bits(created_at)
    with transaction.atomic():
        seq, _ = SandboxIdSequence.objects.select_for_update().get_or_create(
            name="snowflake"
        )
        if created_at < now - BACKDATED_AFTER:
            high = base + (1 << SEQUENCE_BITS)
            taken = [
                _max_id_in(SandboxPost, base, high),
                _max_id_in(SandboxDMEvent, base, high),
            ]
            highest = max((t for t in taken if t is not None), default=None)
            return base if highest is None else highest + 1
        value = max(base, seq.last_value + 1)
        seq.last_value = value
        seq.save(update_fields=["last_value"])
        return value
