"""Two sweeps marking breaches at once on PostgreSQL report every clock exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from mentions.sla import services as sla
from mentions.sla.models import SlaClock
from tests.sla.conftest import utc

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
T0 = utc(2026, 11, 23, 10)


def test_racing_sweeps_report_each_newly_breached_clock_once(
    make_mention, default_policy
):
    ids = [make_mention(created_at=T0).pk for _ in range(300)]
    sla.start_clocks(ids, now=T0)
    expected = set(
        SlaClock.objects.filter(target="first_response").values_list("id", flat=True)
    )
    barrier = threading.Barrier(4)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(sla.mark_breaches(now=T0 + timedelta(minutes=61)))
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    reported = [clock_id for result in results for clock_id in result]
    assert sorted(reported) == sorted(expected)  # every clock once, none twice
    assert SlaClock.objects.filter(state="breached").count() == 300
