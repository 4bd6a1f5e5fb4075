"""Poll pacing and backoff: pure time math, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mentions.polling import backoff_delay, next_poll_time
from mentions.sources.base import RateLimit

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_without_rate_limit_headers_it_polls_at_the_streams_interval():
    assert next_poll_time(60, None, now=NOW) == NOW + timedelta(seconds=60)


def test_with_plenty_of_calls_left_it_polls_at_the_interval():
    limit = RateLimit(limit=450, remaining=400, reset_at=NOW + timedelta(minutes=10))

    assert next_poll_time(30, limit, now=NOW) == NOW + timedelta(seconds=30)


def test_it_slows_down_before_the_window_runs_out():
    limit = RateLimit(limit=15, remaining=3, reset_at=NOW + timedelta(minutes=10))

    assert next_poll_time(10, limit, now=NOW) == NOW + timedelta(minutes=5)


def test_an_exhausted_window_waits_for_the_reset():
    limit = RateLimit(limit=15, remaining=0, reset_at=NOW + timedelta(minutes=7))

    assert next_poll_time(10, limit, now=NOW) == NOW + timedelta(minutes=7, seconds=1)


def test_backoff_grows_exponentially_and_is_capped(settings):
    settings.X_MAX_BACKOFF_SECONDS = 900

    delays = [backoff_delay(n).total_seconds() for n in range(1, 12)]

    assert 4 <= delays[0] <= 6
    assert 8 <= delays[1] <= 12
    assert all(d <= 900 * 1.2 for d in delays)
    assert delays[-1] >= 900 * 0.8
