"""Pure business-calendar math: nights, weekends, holidays, DST both ways (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from mentions.sla.businesstime import (
    ALWAYS_OPEN,
    END_OF_DAY,
    Calendar,
    CalendarError,
    add_business_seconds,
    business_seconds_between,
    subtract_business_seconds,
)

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = ((time(9), time(17)),)
WEEKDAYS = (NINE_TO_FIVE,) * 5 + ((), ())
HOUR = 3600


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def office() -> Calendar:
    return Calendar(time_zone="Europe/Berlin", weekly=WEEKDAYS)


def test_it_adds_within_one_open_day(office):
    # Mon 23 Nov 2026, 10:00 Berlin + 2 h
    assert add_business_seconds(office, berlin(2026, 11, 23, 10), 2 * HOUR) == berlin(
        2026, 11, 23, 12
    )


def test_it_carries_over_the_night(office):
    assert add_business_seconds(office, berlin(2026, 11, 23, 16), 2 * HOUR) == berlin(
        2026, 11, 24, 10
    )


def test_a_start_before_opening_counts_from_the_opening(office):
    assert add_business_seconds(office, berlin(2026, 11, 23, 6), HOUR) == berlin(
        2026, 11, 23, 10
    )


def test_it_skips_the_weekend(office):
    # Friday 27 Nov 16:30 + 1 h -> Monday 30 Nov 09:30
    assert add_business_seconds(office, berlin(2026, 11, 27, 16, 30), HOUR) == berlin(
        2026, 11, 30, 9, 30
    )


def test_a_start_on_saturday_waits_for_monday(office):
    assert add_business_seconds(office, berlin(2026, 11, 28, 12), 60) == berlin(
        2026, 11, 30, 9, 1
    )


def test_country_holidays_close_the_calendar():
    cal = Calendar(time_zone="Europe/Berlin", weekly=WEEKDAYS, holiday_country="DE")
    # Thu 24 Dec 2026 16:00 + 2 h: 25 and 26 Dec are German holidays (Fri, Sat), then Sunday.
    assert add_business_seconds(cal, berlin(2026, 12, 24, 16), 2 * HOUR) == berlin(
        2026, 12, 28, 10
    )


def test_subdivision_holidays_apply_only_in_that_subdivision():
    # 6 Jan (Epiphany) is a holiday in Bavaria but not in Berlin.
    bavaria = Calendar(
        time_zone="Europe/Berlin",
        weekly=WEEKDAYS,
        holiday_country="DE",
        holiday_subdivision="BY",
    )
    berlin_state = Calendar(
        time_zone="Europe/Berlin",
        weekly=WEEKDAYS,
        holiday_country="DE",
        holiday_subdivision="BE",
    )
    start = berlin(2027, 1, 6, 9)  # a Wednesday
    assert add_business_seconds(berlin_state, start, HOUR) == berlin(2027, 1, 6, 10)
    assert add_business_seconds(bavaria, start, HOUR) == berlin(2027, 1, 7, 10)


def test_custom_closed_dates_close_the_calendar():
    cal = Calendar(
        time_zone="Europe/Berlin",
        weekly=WEEKDAYS,
        closed_dates=frozenset({date(2026, 11, 24)}),
    )
    assert add_business_seconds(cal, berlin(2026, 11, 23, 16), 2 * HOUR) == berlin(
        2026, 11, 25, 10
    )


def test_several_intervals_a_day_skip_the_lunch_break():
    cal = Calendar(
        time_zone="Europe/Berlin",
        weekly=(((time(9), time(12)), (time(13), time(17))),) * 7,
    )
    assert add_business_seconds(cal, berlin(2026, 11, 23, 11), 2 * HOUR) == berlin(
        2026, 11, 23, 14
    )
    assert business_seconds_between(
        cal, berlin(2026, 11, 23, 8), berlin(2026, 11, 23, 18)
    ) == (7 * HOUR)


def test_a_nine_to_five_day_stays_nine_to_five_local_on_spring_forward():
    cal = Calendar(time_zone="Europe/Berlin", weekly=(NINE_TO_FIVE,) * 7)
    # 29 Mar 2026: clocks jump 02:00 -> 03:00 in Berlin; 09:00 local is 07:00 UTC (CEST).
    due = add_business_seconds(cal, berlin(2026, 3, 28, 16), 2 * HOUR)
    assert due == berlin(2026, 3, 29, 10)
    assert due.astimezone(UTC) == datetime(2026, 3, 29, 8, tzinfo=UTC)


def test_a_nine_to_five_day_stays_nine_to_five_local_on_fall_back():
    cal = Calendar(time_zone="Europe/Berlin", weekly=(NINE_TO_FIVE,) * 7)
    # 25 Oct 2026: clocks go back 03:00 -> 02:00; 09:00 local is 08:00 UTC again (CET).
    due = add_business_seconds(cal, berlin(2026, 10, 24, 16), 2 * HOUR)
    assert due.astimezone(UTC) == datetime(2026, 10, 25, 9, tzinfo=UTC)
    assert due == berlin(2026, 10, 25, 10)


def test_night_intervals_count_real_time_across_dst_changes():
    cal = Calendar(time_zone="Europe/Berlin", weekly=(((time(1), time(4)),),) * 7)
    # 01:00-04:00 local: 2 real hours on the spring-forward night, 4 on the fall-back night.
    assert business_seconds_between(
        cal, berlin(2026, 3, 29, 0), berlin(2026, 3, 29, 12)
    ) == (2 * HOUR)
    assert business_seconds_between(
        cal, berlin(2026, 10, 25, 0), berlin(2026, 10, 25, 12)
    ) == (4 * HOUR)


def test_a_24_hour_day_closes_at_the_next_local_midnight():
    cal = Calendar(time_zone="Europe/Berlin", weekly=(((time(0), END_OF_DAY),),) * 7)
    # Spring-forward day is 23 real hours long.
    assert business_seconds_between(
        cal, berlin(2026, 3, 29, 0), berlin(2026, 3, 30, 0)
    ) == (23 * HOUR)
    # 01:00 CET + 2 real hours crosses the jump: 04:00 CEST.
    assert add_business_seconds(cal, berlin(2026, 3, 29, 1), 2 * HOUR) == berlin(
        2026, 3, 29, 4
    )


def test_always_open_is_plain_addition():
    start = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert add_business_seconds(ALWAYS_OPEN, start, HOUR) == start + timedelta(hours=1)
    assert (
        business_seconds_between(ALWAYS_OPEN, start, start + timedelta(hours=5))
        == 5 * HOUR
    )


def test_between_is_zero_when_the_end_is_not_after_the_start(office):
    a = berlin(2026, 11, 23, 10)
    assert business_seconds_between(office, a, a) == 0
    assert business_seconds_between(office, a, a - timedelta(hours=1)) == 0


def test_between_counts_a_week_of_nine_to_five(office):
    assert business_seconds_between(
        office, berlin(2026, 11, 23), berlin(2026, 11, 30)
    ) == (5 * 8 * HOUR)


def test_subtract_walks_back_over_the_night(office):
    assert subtract_business_seconds(office, berlin(2026, 11, 24, 10), 2 * HOUR) == (
        berlin(2026, 11, 23, 16)
    )


def test_a_calendar_with_no_open_hours_is_refused():
    with pytest.raises(CalendarError, match="no open hours"):
        Calendar(time_zone="Europe/Berlin")


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(CalendarError, match="Unknown time zone 'Mars/Olympus'"):
        Calendar(time_zone="Mars/Olympus", always_open=True)


def test_overlapping_intervals_are_refused():
    with pytest.raises(CalendarError, match="09:00-12:00 overlaps 11:00-14:00"):
        Calendar(weekly=(((time(9), time(12)), (time(11), time(14))),) + ((),) * 6)


def test_an_interval_closing_before_it_opens_is_refused():
    with pytest.raises(CalendarError, match="closes before it opens"):
        Calendar(weekly=(((time(17), time(9)),),) + ((),) * 6)


def test_an_unknown_holiday_country_is_refused():
    with pytest.raises(CalendarError, match="Unknown holiday country"):
        Calendar(always_open=True, holiday_country="XX")


def test_math_on_a_calendar_closed_for_years_raises_instead_of_looping():
    monday_only = (NINE_TO_FIVE,) + ((),) * 6
    start = date(2026, 11, 23)
    mondays = frozenset(start + timedelta(weeks=w) for w in range(600))
    cal = Calendar(time_zone="UTC", weekly=monday_only, closed_dates=mondays)
    with pytest.raises(CalendarError, match="No open hours within"):
        add_business_seconds(cal, datetime(2026, 11, 23, tzinfo=UTC), 60)


def test_naive_datetimes_are_refused(office):
    with pytest.raises(ValueError, match="aware"):
        add_business_seconds(office, datetime(2026, 11, 23, 10), 60)  # noqa: DTZ001


def test_intervals_inside_a_spring_forward_gap_never_count_time_twice():
    # 02:10-02:40 does not exist on 29 Mar 2026 in Berlin and maps to 03:10-03:40 CEST, inside the
    # 03:00-04:00 interval: that hour counts once.
    cal = Calendar(
        time_zone="Europe/Berlin",
        weekly=(((time(2, 10), time(2, 40)), (time(3), time(4))),) * 7,
    )
    assert business_seconds_between(
        cal, berlin(2026, 3, 29, 0), berlin(2026, 3, 29, 12)
    ) == (HOUR)
    assert subtract_business_seconds(cal, berlin(2026, 3, 29, 4), HOUR) == berlin(
        2026, 3, 29, 3
    )
