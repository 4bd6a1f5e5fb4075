"""Pure business-calendar math: no database, no clock (callers pass every instant in).

A `Calendar` is a frozen value: a time zone, up to several open intervals per weekday in local
wall-clock time, closed dates (custom ones plus a country's public holidays from the `holidays`
library), or "always open" (24/7).

Definitions (the README's "SLA definitions" repeats them):
- An interval is local wall-clock time on one day: 09:00-17:00 stays 09:00-17:00 on a DST-change day.
  Business seconds are real elapsed seconds inside those intervals, so a 01:00-04:00 interval on the
  spring-forward day in Europe/Berlin counts 2 hours and on the fall-back day 4 hours.
- An interval closing at `END_OF_DAY` (23:59:59.999999, shown and typed as "24:00") runs to the next
  local midnight; intervals never span midnight (an overnight shift is two intervals).
- A calendar with no open hours cannot be built (`CalendarError`); a calendar whose open days are all
  holidays for `MAX_CLOSED_DAYS` in a row makes the math raise `CalendarError` instead of looping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

END_OF_DAY = time.max
MAX_CLOSED_DAYS = 3660  # ten years without an open minute means the calendar is broken
Interval = tuple[time, time]


class CalendarError(ValueError):
    """The calendar cannot be used for SLA math (no open hours, unknown zone, bad interval)."""


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or CalendarError with the name in the message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"Unknown time zone {name!r}.") from exc


@lru_cache(maxsize=256)
def country_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """Public holidays of one country (and subdivision) in one year; cached, the set never changes."""
    table = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(d for d in table if d.year == year)


def format_interval(interval: Interval) -> str:
    opens, closes = interval
    end = "24:00" if closes == END_OF_DAY else closes.strftime("%H:%M")
    return f"{opens.strftime('%H:%M')}-{end}"


def check_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted intervals of one day, or CalendarError when one closes before it opens or two overlap."""
    ordered = tuple(sorted(intervals))
    for opens, closes in ordered:
        if closes <= opens:
            raise CalendarError(
                f"{format_interval((opens, closes))} closes before it opens "
                "(intervals stay within one day: split an overnight shift in two)."
            )
    for before, after in pairwise(ordered):
        if after[0] < before[1]:
            raise CalendarError(
                f"{format_interval(before)} overlaps {format_interval(after)}."
            )
    return ordered


@dataclass(frozen=True)
class Calendar:
    """When the team works. `weekly[0]` is Monday's intervals ... `weekly[6]` Sunday's."""

    time_zone: str = "UTC"
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7
    closed_dates: frozenset[date] = frozenset()
    holiday_country: str = ""
    holiday_subdivision: str = ""
    always_open: bool = False
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone(self.time_zone))
        if len(self.weekly) != 7:
            raise CalendarError("A week has 7 days of intervals.")
        object.__setattr__(
            self, "weekly", tuple(check_intervals(day) for day in self.weekly)
        )
        if not self.always_open and not any(self.weekly):
            raise CalendarError(
                "The calendar has no open hours: add an interval or make it 24/7."
            )
        if self.holiday_country:
            try:
                country_holidays(self.holiday_country, self.holiday_subdivision, 2000)
            except NotImplementedError as exc:
                raise CalendarError(
                    f"Unknown holiday country or subdivision {self.holiday_country!r} "
                    f"{self.holiday_subdivision!r}."
                ) from exc

    def is_closed_date(self, day: date) -> bool:
        if day in self.closed_dates:
            return True
        return bool(self.holiday_country) and day in country_holidays(
            self.holiday_country, self.holiday_subdivision, day.year
        )

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC) in time order, the first clipped to begin at `start`; endless."""
        _require_aware(start)
        # UTC from here on: arithmetic between datetimes sharing a ZoneInfo is wall-clock arithmetic.
        start = start.astimezone(UTC)
        if self.always_open:
            yield start, datetime.max.replace(tzinfo=UTC)
            return
        day = start.astimezone(self.tz).date()
        closed_run = 0
        while True:
            found = False
            for begin, end in self.day_intervals(day):
                begin = max(begin, start)
                if end > begin:
                    found = True
                    yield begin, end
            closed_run = 0 if found else closed_run + 1
            if closed_run > MAX_CLOSED_DAYS:
                raise CalendarError(
                    f"No open hours within {MAX_CLOSED_DAYS} days of {day.isoformat()}."
                )
            day += timedelta(days=1)

    def day_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """One local day's open intervals in UTC, sorted and merged (cached: a page of mentions
        at ingest asks for the same few days hundreds of times)."""
        return _day_intervals(self, day)

    def _compute_day_intervals(
        self, day: date
    ) -> tuple[tuple[datetime, datetime], ...]:
        """Merged because a local time inside a spring-forward gap maps an hour late (see `_local`),
        so two intervals of that day can overlap in UTC; time must never count twice."""
        if self.is_closed_date(day):
            return ()
        spans = sorted(
            (
                _local(day, opens, self.tz),
                _local(day + timedelta(days=1), time(0), self.tz)
                if closes == END_OF_DAY
                else _local(day, closes, self.tz),
            )
            for opens, closes in self.weekly[day.weekday()]
        )
        merged: list[tuple[datetime, datetime]] = []
        for begin, end in spans:
            if end <= begin:
                continue
            if merged and begin <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((begin, end))
        return tuple(merged)

    def is_open(self, at: datetime) -> bool:
        begin, _end = next(self.open_intervals(at))
        return begin == at.astimezone(UTC)


ALWAYS_OPEN = Calendar(always_open=True)


@lru_cache(maxsize=8192)
def _day_intervals(cal: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    return cal._compute_day_intervals(day)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("SLA math needs aware datetimes.")


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC. A time inside a spring-forward gap maps with the old offset
    (02:30 on the night clocks jump from 02:00 to 03:00 is 03:30), fold=0 picks the first of a repeated
    hour: the same choices Python makes everywhere else."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def add_business_seconds(cal: Calendar, start: datetime, seconds: float) -> datetime:
    """The earliest instant at which `seconds` of open time have passed since `start` (UTC)."""
    _require_aware(start)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    remaining = timedelta(seconds=seconds)
    if cal.always_open:
        return start.astimezone(UTC) + remaining
    if not remaining:
        return start.astimezone(UTC)
    for begin, end in cal.open_intervals(start):
        span = end - begin
        if remaining <= span:
            return begin + remaining
        remaining -= span
    raise AssertionError("open_intervals is endless")  # pragma: no cover


def business_between(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    """Exact open time between `a` and `b` (zero when b <= a)."""
    _require_aware(a)
    _require_aware(b)
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    if b <= a:
        return timedelta(0)
    if cal.always_open:
        return b - a
    total = timedelta(0)
    for begin, end in cal.open_intervals(a):
        if begin >= b:
            break
        total += min(end, b) - begin
    return total


def business_seconds_between(cal: Calendar, a: datetime, b: datetime) -> int:
    """Whole seconds of open time between `a` and `b` (zero when b <= a)."""
    return int(business_between(cal, a, b).total_seconds())


def subtract_business_seconds(cal: Calendar, end: datetime, seconds: float) -> datetime:
    """The latest instant `t` <= `end` with `seconds` of open time between `t` and `end`.

    Used for warning times ("amber at 75% of the target"). Walks backwards a day at a time.
    """
    _require_aware(end)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    remaining = timedelta(seconds=seconds)
    end = end.astimezone(UTC)
    if cal.always_open or not remaining:
        return end - remaining
    day = end.astimezone(cal.tz).date()
    for _ in range(MAX_CLOSED_DAYS + 1):
        for begin, stop in reversed(cal.day_intervals(day)):
            stop = min(stop, end)
            if stop <= begin:
                continue
            span = stop - begin
            if remaining <= span:
                return stop - remaining
            remaining -= span
        day -= timedelta(days=1)
    raise CalendarError(f"No open hours within {MAX_CLOSED_DAYS} days before {end}.")
