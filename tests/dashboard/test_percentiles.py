"""Property: the SQL medians and p90s equal a Python recomputation from the rows (linear interpolation)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentions.dashboard.filters import DashboardFilters
from mentions.dashboard.people import people_rows
from mentions.dashboard.queries import first_response_trend, target_summaries
from mentions.models import Mention
from mentions.sla.models import SlaClock
from tests.dashboard.data import account, at, clock, mention

TARGETS = ["first_response", "next_response", "resolution"]


def interpolated(values: list[int], p: float) -> float | None:
    """percentile_cont as the SQL standard defines it: rank p*(n-1) between the two nearest values."""
    if not values:
        return None
    v = sorted(values)
    rank = p * (len(v) - 1)
    below, above = v[math.floor(rank)], v[math.ceil(rank)]
    return below + (rank - math.floor(rank)) * (above - below)


clocks = st.lists(
    st.tuples(
        st.sampled_from(TARGETS),
        st.integers(min_value=0, max_value=3),  # day of the range
        st.integers(min_value=0, max_value=400_000),  # seconds
        st.booleans(),  # stopped (else still open: not in the percentiles)
    ),
    max_size=40,
)


@pytest.fixture
def acct(db):
    return account()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=clocks)
def test_sql_percentiles_match_python_for_random_clocks(acct, rows):
    SlaClock.objects.all().delete()
    Mention.objects.all().delete()
    expected: dict[str, list[int]] = {t: [] for t in TARGETS}
    per_day: dict[int, list[int]] = {d: [] for d in range(4)}
    for target, day, seconds, stopped in rows:
        start = at(27 + day, 10)
        m = mention(acct, start)
        if stopped:
            clock(m, target, "met", stopped_at=start + timedelta(seconds=seconds))
            expected[target].append(seconds)
            if target == "first_response":
                per_day[day].append(seconds)
        else:
            clock(m, target, "active")
    f = DashboardFilters(start=date(2026, 3, 27), end=date(2026, 3, 30))
    for summary in target_summaries(f):
        values = expected[summary.target]
        assert summary.durations.count == len(values)
        assert summary.durations.median == pytest.approx(interpolated(values, 0.5))
        assert summary.durations.p90 == pytest.approx(interpolated(values, 0.9))
        mean = sum(values) / len(values) if values else None
        assert summary.durations.mean == pytest.approx(mean)
    for point in first_response_trend(f):
        values = per_day[point.at.day - 27]
        assert point.durations.median == pytest.approx(interpolated(values, 0.5))
        assert point.durations.p90 == pytest.approx(interpolated(values, 0.9))
    # The per-agent query groups differently (one row per mention) and must agree too.
    fr = expected["first_response"]
    for row in people_rows(f, by="agent"):
        assert row.first_response.median == pytest.approx(interpolated(fr, 0.5))
        assert row.first_response.p90 == pytest.approx(interpolated(fr, 0.9))
