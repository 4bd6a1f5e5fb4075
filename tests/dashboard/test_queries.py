"""Every figure of the fixed data set (tests/dashboard/conftest.py), worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from mentions.dashboard.filters import DashboardFilters
from mentions.dashboard.queries import build_dashboard
from tests.dashboard.data import at

NOW = at(31, 12)
RANGE = {"start": date(2026, 3, 27), "end": date(2026, 3, 30)}


def figures(**extra):
    return build_dashboard(DashboardFilters(**RANGE, **extra), now=NOW)


def test_first_response_outcomes_exclude_cancelled_and_count_late_as_breached(world):
    fr = figures().target("first_response")
    # M1, M4, M6 on time; M2 late; M3 breached and open; M5 cancelled (monitoring).
    assert (fr.on_time, fr.late, fr.breached_open, fr.active, fr.cancelled) == (
        3,
        1,
        1,
        0,
        1,
    )
    assert fr.total == 5
    assert fr.compliance == 60.0  # 3 / (3 + 1 + 1)
    assert fr.on_time_pct == 60.0
    assert fr.late_pct == 20.0
    assert fr.breached_open_pct == 20.0


def test_first_response_durations_cover_answered_clocks_in_calendar_time_across_dst(
    world,
):
    d = figures().target("first_response").durations
    # [300, 600, 1800, 234000]: M2 runs Fri 15:00 UTC -> Mon 08:00 UTC = 65 h (66 local hours, DST).
    assert d.count == 4
    assert d.median == pytest.approx(1200)  # (600 + 1800) / 2
    assert d.p90 == pytest.approx(164340)  # rank 2.7: 1800 + 0.7 * (234000 - 1800)
    assert d.mean == pytest.approx(59175)  # 236700 / 4


def test_the_business_switch_measures_open_hours(world):
    d = figures(business=True).target("first_response").durations
    # [300, 600, 1800, 7200]: M2 counts Fri 16-17 and Mon 9-10 Berlin.
    assert d.median == pytest.approx(1200)
    assert d.p90 == pytest.approx(5580)  # 1800 + 0.7 * 5400
    assert d.mean == pytest.approx(2475)


def test_next_response_counts_the_paused_clock_as_open(world):
    nr = figures().target("next_response")
    assert (nr.on_time, nr.late, nr.breached_open, nr.active, nr.paused) == (
        0,
        1,
        0,
        1,
        1,
    )
    assert nr.open == 1
    assert (nr.durations.count, nr.durations.median, nr.durations.p90) == (
        1,
        3600,
        3600,
    )


def test_resolution_time_excludes_paused_time(world):
    res = figures().target("resolution")
    assert (res.on_time, res.late, res.breached_open, res.active, res.cancelled) == (
        3,
        0,
        0,
        2,
        1,
    )
    d = res.durations
    # M1 2 h minus 30 min paused = 5400; M6 7200; M2 Fri 15:00 -> Mon 09:00 = 237600.
    assert d.count == 3
    assert d.median == pytest.approx(7200)
    assert d.p90 == pytest.approx(191520)  # rank 1.8: 7200 + 0.8 * 230400
    assert d.mean == pytest.approx(83400)
    business = figures(business=True).target("resolution").durations
    assert (business.median, business.p90, business.mean) == pytest.approx(
        (7200, 10080, 7800)
    )


def test_channels_split_the_answers(world):
    assert figures().channels == {"reply": 2, "dm": 1, "email": 1, "phone": 1}


def test_share_answered_and_share_left_to_monitoring(world):
    d = figures()
    # Response clocks: FR M1 M2 M4 M6 answered, M3 not, M5 cancelled; NR M6b answered, M4b not.
    assert (d.answered, d.needed_answer, d.answered_share) == (5, 7, 71.4)
    assert d.monitoring_share == 12.5  # 1 of 8


def test_detection_lag_is_its_own_figure(world):
    lag = figures().detection_lag
    # [10, 10, 10, 20, 30, 40, 60, 90] (M4b and M6b took 10 s)
    assert lag.count == 8
    assert lag.median == pytest.approx(25)
    assert lag.p90 == pytest.approx(69)  # rank 6.3: 60 + 0.3 * 30
    assert lag.mean == pytest.approx(270 / 8)


def test_first_response_trend_per_day_of_posting(world):
    trend = figures().trend
    assert [p.at.day for p in trend] == [27, 28, 29, 30]
    assert [p.durations.count for p in trend] == [2, 0, 1, 1]
    assert [p.open for p in trend] == [0, 1, 0, 0]
    assert trend[0].durations.median == pytest.approx(117300)  # (600 + 234000) / 2
    assert trend[0].durations.p90 == pytest.approx(210660)  # 600 + 0.9 * 233400
    assert trend[1].durations.median is None
    assert (trend[2].durations.median, trend[3].durations.median) == (1800, 300)


def test_volume_by_day_kind_sentiment_status_and_stream(world):
    d = figures()
    assert [(p.total, p.posts, p.dms) for p in d.volume.points] == [
        (2, 1, 1), (1, 1, 0), (2, 2, 0), (3, 3, 0)
    ]  # fmt: skip
    assert d.volume.by_kind == {"post": 7, "dm": 1}
    # -0.05 and -0.3 are negative (<= -0.05), 0.0 neutral, 0.2 0.5 0.9 positive, None unscored.
    assert d.volume.by_sentiment == {
        "negative": 3,
        "neutral": 1,
        "positive": 3,
        "unscored": 1,
    }
    assert {k: v for k, v in d.volume.by_status.items() if v} == {
        "resolved": 4, "open": 1, "waiting": 2, "monitoring": 1
    }  # fmt: skip
    assert [(s.label, s.count) for s in d.streams] == [("@mentions", 3), ("search", 2)]


def test_hourly_buckets_for_short_ranges(world):
    d = build_dashboard(
        DashboardFilters(start=date(2026, 3, 27), end=date(2026, 3, 27)), now=NOW
    )
    assert len(d.volume.points) == 24
    assert {p.at.hour: p.total for p in d.volume.points if p.total} == {9: 1, 15: 1}


def test_heatmaps_of_writing_and_answering(world):
    d = figures()
    # Fri = 4, Sat = 5, Sun = 6, Mon = 0 (UTC)
    assert d.customers_heatmap.cells == {
        (4, 9): 1,
        (4, 15): 1,
        (5, 10): 1,
        (6, 12): 1,
        (6, 14): 1,
        (0, 8): 1,
        (0, 20): 2,
    }
    assert d.answers_heatmap.cells == {
        (4, 9): 1,
        (0, 8): 1,
        (6, 12): 1,
        (0, 20): 1,
        (0, 21): 1,
    }


def test_backlog_now_and_over_time(world):
    b = figures().backlog
    assert b.open_now == 5
    assert b.by_status == {"new": 1, "open": 2, "waiting": 2}
    assert b.oldest_created_at == at(26, 10)
    assert b.oldest_age_seconds == 5 * 86400 + 2 * 3600
    # Baseline M0 + M_old; 27th: +M1 +M2 -M1 -M_old; 28th: +M3; 29th: +M4; 30th: +M5 +M6 -M2 -M5 -M6.
    assert [p.open for p in b.points] == [2, 3, 4, 3]
    assert b.points[0].at == at(28, 0)


def test_per_agent_attributes_mentions_to_the_first_answerer_else_the_assignee(world):
    rows = {r.label: r for r in figures().agents}
    alice = rows[
        "Alice"
    ]  # M1, M4, M4b (assigned, no first-response clock), M6 (answered for Dave)
    assert alice.handled == 4
    assert (alice.first_response.median, alice.first_response.p90) == pytest.approx(
        (600, 1560)
    )
    assert (alice.on_time, alice.late, alice.compliance) == (3, 0, 100.0)
    assert (alice.resolution.median, alice.resolution.p90) == pytest.approx(
        (6300, 7020)
    )
    dave = rows["Dave"]
    assert (dave.handled, dave.late, dave.compliance, dave.resolution.median) == (
        2,
        1,
        0.0,
        237600,
    )
    nobody = rows["Unassigned, unanswered"]
    assert (nobody.handled, nobody.breached_open) == (1, 1)
    assert sum(r.handled for r in rows.values()) == 7  # M5 (monitoring) is not handled


def test_per_team(world):
    rows = {r.label: r for r in figures().teams}
    assert set(rows) == {"Billing", "Tech"}
    billing, tech = rows["Billing"], rows["Tech"]
    assert (
        billing.handled,
        billing.on_time,
        billing.late,
        billing.first_response.median,
    ) == (4, 2, 1, 600)
    assert billing.compliance == 66.7
    assert (tech.handled, tech.on_time, tech.breached_open, tech.compliance) == (
        3,
        1,
        1,
        50.0,
    )


def test_filters_narrow_every_figure(world):
    _s1, s2 = world["streams"]
    d = figures(kind="dm")
    assert d.volume.total == 1
    assert d.target("first_response").late == 1
    d = figures(stream=s2.pk)
    assert d.volume.total == 2  # M3, M4
    assert d.target("first_response").on_time == 1
    assert d.target("first_response").breached_open == 1
    d = figures(team=world["teams"][0].pk, priority=3)
    assert d.volume.total == 1
    assert d.target("first_response").durations.median == 600
    d = figures(account=world["account"].pk + 999)
    assert d.volume.total == 0
    assert d.target("first_response").total == 0
    assert d.backlog.open_now == 0
    assert [p.open for p in d.backlog.points] == [0, 0, 0, 0]


def test_the_agent_filter_keeps_mentions_they_are_assigned_or_answered(world):
    d = figures(agent=world["alice"].pk)
    assert d.volume.total == 4  # M1, M4, M4b assigned; M6 answered
    fr = d.target("first_response")
    assert (fr.on_time, fr.durations.median) == (3, 600)
    assert d.backlog.open_now == 3  # M4, M4b (waiting) and M0 (open; she answered it)
