"""Turn BusinessCalendar rows into the pure `businesstime.Calendar` value the math works on."""

from __future__ import annotations

from collections.abc import Iterable

from mentions.sla.businesstime import ALWAYS_OPEN, Calendar, Interval
from mentions.sla.models import BusinessCalendar, SlaPolicy


def to_calendar(model: BusinessCalendar) -> Calendar:
    """Build the value object; reads `intervals` and `holidays` through .all() so prefetches count."""
    weekly: list[list[Interval]] = [[] for _ in range(7)]
    for interval in model.intervals.all():
        weekly[interval.weekday].append((interval.opens_at, interval.closes_at))
    return Calendar(
        time_zone=model.time_zone,
        weekly=tuple(tuple(day) for day in weekly),
        closed_dates=frozenset(h.date for h in model.holidays.all()),
        holiday_country=model.holiday_country,
        holiday_subdivision=model.holiday_subdivision,
        always_open=model.is_always_open,
    )


def active_policies() -> list[SlaPolicy]:
    """Active policies in matching order with their calendars loaded (3 queries)."""
    return list(
        SlaPolicy.objects.filter(is_active=True)
        .select_related("calendar")
        .prefetch_related("calendar__intervals", "calendar__holidays")
        .order_by("position", "id")
    )


def calendars_of(policies: Iterable[SlaPolicy | None]) -> dict[int | None, Calendar]:
    """Calendar value per policy id (None -> 24/7 UTC, for clocks whose policy was deleted)."""
    out: dict[int | None, Calendar] = {None: ALWAYS_OPEN}
    built: dict[int, Calendar] = {}
    for policy in policies:
        if policy is None or policy.pk in out:
            continue
        if policy.calendar_id not in built:
            built[policy.calendar_id] = to_calendar(policy.calendar)
        out[policy.pk] = built[policy.calendar_id]
    return out
