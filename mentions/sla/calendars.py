"""Turn BusinessCalendar rows into the pure `businesstime.Calendar` value the math works on."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from mentions.sla.businesstime import ALWAYS_OPEN, Calendar, Interval
from mentions.sla.models import BusinessCalendar, SlaPolicy
from mentions.sla.policies import uses_tags


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


@dataclass(frozen=True)
class PolicySet:
    """The active policies in matching order with their calendars, as ingest uses them."""

    policies: list[SlaPolicy]
    calendars: dict[int | None, Calendar]
    uses_tags: bool


_VERSION_SQL = """
SELECT (SELECT count(*) FROM sla_slapolicy), (SELECT max(updated_at) FROM sla_slapolicy),
       (SELECT max(id) FROM sla_slapolicy), (SELECT count(*) FROM sla_businesscalendar),
       (SELECT max(updated_at) FROM sla_businesscalendar), (SELECT count(*) FROM sla_openinterval),
       (SELECT count(*) FROM sla_holiday)
"""
_cache: tuple[tuple[object, ...], PolicySet] | None = None
_lock = threading.Lock()


def policy_set() -> PolicySet:
    """The active policies, rebuilt only when a policy or calendar changed (one small query).

    Ingest calls this for every page of 100 mentions; loading three tables and building the calendars
    each time cost more than the clocks themselves. Saving a policy or calendar bumps its updated_at
    (auto_now), and adding or deleting rows changes a count, so the version query sees every change
    made through the pages, the Django admin or the ORM's save().
    """
    global _cache
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        version = tuple(cursor.fetchone() or ())
    with _lock:
        if _cache is not None and _cache[0] == version:
            return _cache[1]
        policies = active_policies()
        built = PolicySet(policies, calendars_of(policies), uses_tags(policies))
        _cache = (version, built)
        return built
