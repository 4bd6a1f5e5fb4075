"""Property-based SLA math (hypothesis): business due never before calendar due; due never moves back."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mentions.sla import clockmath
from mentions.sla.businesstime import (
    END_OF_DAY,
    Calendar,
    add_business_seconds,
    business_between,
    subtract_business_seconds,
)
from mentions.sla.clocks import close_pause, pause, refresh_due, resume
from mentions.sla.models import SlaClock

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
]


def _minute_time(minute: int) -> time:
    return END_OF_DAY if minute == 1440 else time(minute // 60, minute % 60)


@st.composite
def days(draw):
    points = sorted(draw(st.sets(st.integers(0, 1440), max_size=4)))
    if len(points) % 2:
        points = points[:-1]
    return tuple(
        (_minute_time(points[i]), _minute_time(points[i + 1]))
        for i in range(0, len(points), 2)
    )


@st.composite
def calendars(draw):
    always = draw(st.integers(0, 9)) == 0
    weekly = tuple(draw(days()) for _ in range(7))
    if not any(weekly):
        weekly = (((time(9), time(17)),), *weekly[1:])
    closed = draw(
        st.frozensets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=20)
    )
    country = draw(st.sampled_from(["", "", "DE", "US", "GB"]))
    return Calendar(
        time_zone=draw(st.sampled_from(ZONES)),
        weekly=weekly,
        closed_dates=closed,
        holiday_country=country,
        always_open=always,
    )


instants = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001  # hypothesis wants naive bounds
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
targets = st.integers(0, 5 * 86400)


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, seconds=targets)
def test_business_time_due_is_never_before_calendar_time_due(cal, start, seconds):
    assert add_business_seconds(cal, start, seconds) >= start + timedelta(
        seconds=seconds
    )


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, seconds=targets)
def test_the_open_time_up_to_the_due_time_is_the_target(cal, start, seconds):
    due = add_business_seconds(cal, start, seconds)
    assert business_between(cal, start, due) == timedelta(seconds=seconds)


@settings(max_examples=100, deadline=None)
@given(cal=calendars(), end=instants, seconds=st.integers(0, 3 * 86400))
def test_subtracting_open_time_walks_back_exactly_that_much(cal, end, seconds):
    begin = subtract_business_seconds(cal, end, seconds)
    assert begin <= end
    assert business_between(cal, begin, end) == timedelta(seconds=seconds)


@settings(max_examples=150, deadline=None)
@given(
    cal=calendars(),
    start=instants,
    target=st.integers(60, 2 * 86400),
    business=st.booleans(),
    steps=st.lists(st.integers(1, 3 * 86400), min_size=1, max_size=8),
)
def test_due_times_never_move_backwards_while_a_clock_runs(
    cal, start, target, business, steps
):
    clock = SlaClock(
        target="first_response",
        started_at=start,
        target_seconds=target,
        is_business_time=business,
        state=SlaClock.State.ACTIVE,
    )
    refresh_due(clock, cal, 75)
    assert clock.warning_at <= clock.due_at
    if business:
        assert clock.due_at >= clockmath.due_at(cal, start, target, business=False)
    now = start
    last_due = clock.due_at
    for step in steps:
        now += timedelta(seconds=step)
        if clock.state == SlaClock.State.PAUSED:
            resume(clock, cal, now, 75)
        else:
            pause(clock, now)
        assert clock.due_at >= last_due
        last_due = clock.due_at
    close_pause(clock, cal, now)
    refresh_due(clock, cal, 75)
    assert clock.due_at >= last_due
