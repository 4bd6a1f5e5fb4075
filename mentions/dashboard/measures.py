"""How a clock's duration is measured and summarised (shared by the page's and the people's queries)."""

from __future__ import annotations

from typing import Any

from mentions.dashboard import sql
from mentions.dashboard.figures import Durations
from mentions.dashboard.filters import DashboardFilters


def clock_seconds(f: DashboardFilters, alias: str = "c") -> str:
    """A stopped clock's duration: calendar or business seconds, pauses already excluded.

    The SLA service fills elapsed_* when a clock stops; the fallback (stop - start - paused) covers rows
    written without them. Business time falls back to calendar time for 24/7 clocks that store none.
    """
    calendar = (
        f"COALESCE({alias}.elapsed_seconds, "
        f"{sql.seconds_between(f'{alias}.stopped_at', f'{alias}.started_at')} - {alias}.paused_seconds)"
    )
    if f.business:
        return f"COALESCE({alias}.elapsed_business_seconds, {calendar})"
    return calendar


def durations_sql(value: str, condition: str | None) -> str:
    """Three columns: count, [median, p90] (one sort), mean; `durations` reads them back."""
    filt = f" FILTER (WHERE {condition})" if condition else ""
    return (
        f"COUNT({value}){filt}, {sql.percentiles(value, (0.5, 0.9), condition)}, "
        f"AVG({value}){filt}"
    )


def durations(row: tuple[Any, ...]) -> Durations:
    count, pcts, mean = row
    median, p90 = sql.read_percentiles(pcts, 2)
    return Durations(
        count=int(count or 0),
        median=float(median) if median is not None else None,
        p90=float(p90) if p90 is not None else None,
        mean=float(mean) if mean is not None else None,
    )
