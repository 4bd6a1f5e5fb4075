"""The countdown and clock-list includes: contract (no queries), states, escaping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string

from mentions.models import Mention
from mentions.sla import services as sla
from mentions.sla.models import SlaClock
from tests.sla.conftest import utc

pytestmark = pytest.mark.django_db
T0 = utc(2026, 11, 23, 10)


def test_the_countdown_reads_only_mention_fields(
    make_mention, default_policy, django_assert_num_queries
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    m = Mention.objects.get(pk=m.pk)
    with django_assert_num_queries(0):
        html = render_to_string("sla/_countdown.html", {"mention": m})
    assert 'data-sla-due="2026-11-23T11:00:00+00:00"' in html
    assert 'data-sla-warn="2026-11-23T10:45:00+00:00"' in html
    assert (
        'title="First response due Mon 23 Nov 11:00 UTC (calendar time, UTC)"' in html
    )


def test_the_countdown_renders_nothing_without_a_running_clock(make_mention, db):
    m = make_mention(created_at=T0)
    assert "sla-countdown" not in render_to_string(
        "sla/_countdown.html", {"mention": m}
    )


def test_the_clock_list_shows_each_target_state(
    make_mention, default_policy, django_assert_num_queries
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.record_human_answer(m, at=T0 + timedelta(minutes=70), channel="dm")
    m.status = Mention.Status.WAITING
    m.save()
    sla.on_status_change(m, old="new", new="waiting", now=T0 + timedelta(minutes=71))
    clocks = list(SlaClock.objects.filter(mention=m).order_by("id"))
    with django_assert_num_queries(0):
        html = render_to_string("sla/_clock_list.html", {"clocks": clocks})
    assert "First response" in html
    assert "sla-state-met-late" in html
    assert "after 1h 10m by dm" in html
    assert "sla-state-paused" in html
    assert "paused since Mon 23 Nov 11:11 UTC" in html


def test_the_clock_list_ticks_running_clocks(make_mention, default_policy):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    html = render_to_string("sla/_clock_list.html", {"clocks": list(m.clocks.all())})
    assert html.count('class="sla-countdown"') == 2
    assert "sla-state-active" in html
