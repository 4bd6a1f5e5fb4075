"""Pure due-time math for one clock: target + pauses -> due, warning, elapsed, hover text.

A clock's due time is always recomputed from its start with one formula, so it can only move later:
- calendar time: due = started + target + paused (wall-clock seconds spent waiting on the customer);
- business time: due = the instant when `target + paused_business` seconds of open time have passed
  since the start (paused_business = the open time that passed while the clock was paused).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mentions.sla.businesstime import (
    Calendar,
    add_business_seconds,
    business_seconds_between,
    subtract_business_seconds,
)


def due_at(
    cal: Calendar,
    started_at: datetime,
    target_seconds: int,
    *,
    business: bool,
    paused_seconds: int = 0,
    paused_business_seconds: int = 0,
) -> datetime:
    if business:
        return add_business_seconds(
            cal, started_at, target_seconds + paused_business_seconds
        )
    return started_at.astimezone(UTC) + timedelta(
        seconds=target_seconds + paused_seconds
    )


def warning_at(
    cal: Calendar, due: datetime, target_seconds: int, *, business: bool, share: int
) -> datetime:
    """Amber from the moment only (100 - share)% of the target is left (in the target's own time)."""
    left = target_seconds * (100 - share) / 100
    if business:
        return subtract_business_seconds(cal, due, left)
    return due - timedelta(seconds=left)


def elapsed(
    cal: Calendar,
    started_at: datetime,
    stopped_at: datetime,
    *,
    paused_seconds: int,
    paused_business_seconds: int,
) -> tuple[int, int]:
    """(wall seconds, business seconds) the clock ran, paused time taken out."""
    wall = int((stopped_at - started_at).total_seconds()) - paused_seconds
    business = (
        business_seconds_between(cal, started_at, stopped_at) - paused_business_seconds
    )
    return max(wall, 0), max(business, 0)


TARGET_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}


def hint(target: str, due: datetime, cal: Calendar, *, business: bool) -> str:
    """Hover text: "First response due Mon 24 Nov 09:30 CET (business hours, Europe/Berlin)"."""
    local = due.astimezone(cal.tz)
    kind = "business hours" if business and not cal.always_open else "calendar time"
    label = TARGET_LABELS.get(target, target)
    return (
        f"{label} due {local:%a %d %b %H:%M} {local.tzname()} ({kind}, {cal.time_zone})"
    )
