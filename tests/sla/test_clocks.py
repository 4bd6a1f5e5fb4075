"""SLA clocks against the database: start, answer, pause, resolve, reopen, cancel, breach."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from mentions.models import Mention, MentionEvent
from mentions.sla import services as sla
from mentions.sla.calendars import policy_set
from mentions.sla.models import SlaClock, SlaPolicy
from tests.sla.conftest import utc

pytestmark = pytest.mark.django_db
T0 = utc(2026, 11, 23, 10)  # Monday 11:00 in Berlin
S = Mention.Status


def clocks(mention) -> dict[str, SlaClock]:
    return {
        f"{c.target}#{c.cycle}": c for c in SlaClock.objects.filter(mention=mention)
    }


def change(mention, new, at):
    old = mention.status
    mention.status = new
    mention.save(update_fields=["status"])
    sla.on_status_change(mention, old=old, new=new, now=at)
    mention.refresh_from_db()


def test_it_starts_first_response_and_resolution_clocks_at_created_at(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0 + timedelta(seconds=30))

    c = clocks(m)
    assert set(c) == {"first_response#1", "resolution#1"}
    assert c["first_response#1"].due_at == T0 + timedelta(minutes=60)
    assert c["resolution#1"].due_at == T0 + timedelta(hours=24)
    assert c["first_response#1"].policy == default_policy
    m.refresh_from_db()
    assert m.sla_due_at == T0 + timedelta(minutes=60)
    assert m.sla_warning_at == T0 + timedelta(minutes=45)
    assert m.sla_hint == "First response due Mon 23 Nov 11:00 UTC (calendar time, UTC)"


def test_business_hours_due_times_skip_the_weekend_and_say_so_on_hover(
    make_mention, default_policy, berlin_office
):
    default_policy.calendar = berlin_office
    default_policy.first_response_business = True
    default_policy.resolution_minutes = None
    default_policy.save()
    friday_1630_berlin = utc(2026, 11, 27, 15, 30)
    m = make_mention(created_at=friday_1630_berlin)

    sla.start_clocks([m.pk], now=friday_1630_berlin)

    m.refresh_from_db()
    assert m.sla_due_at == utc(2026, 11, 30, 8, 30)  # Monday 09:30 CET
    assert m.sla_hint == (
        "First response due Mon 30 Nov 09:30 CET (business hours, Europe/Berlin)"
    )
    # 75 % of 60 business minutes -> 15 minutes before the due time, counted in open hours.
    assert m.sla_warning_at == utc(2026, 11, 30, 8, 15)


def test_starting_clocks_for_a_page_of_mentions_takes_a_fixed_number_of_queries(
    make_mention, default_policy, django_assert_max_num_queries
):
    ids = [make_mention(created_at=T0).pk for _ in range(100)]
    policy_set()  # ingest keeps the policies cached between pages
    # PostgreSQL: version check, one load, one insert+update. The portable path (the SQLite demo)
    # loads in 3 queries and batches its inserts under SQLite's variable limit.
    limit = 3 if connection.vendor == "postgresql" else 10
    with django_assert_max_num_queries(limit):
        sla.start_clocks(ids, now=T0)
    assert SlaClock.objects.count() == 200


def test_a_policy_change_reaches_the_next_page_despite_the_cache(
    make_mention, default_policy
):
    first = make_mention(created_at=T0)
    sla.start_clocks([first.pk], now=T0)
    default_policy.first_response_minutes = 5
    default_policy.save()
    second = make_mention(created_at=T0)
    sla.start_clocks([second.pk], now=T0)
    second.refresh_from_db()
    assert second.sla_due_at == T0 + timedelta(minutes=5)


def test_starting_clocks_twice_does_not_duplicate_them(make_mention, default_policy):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.start_clocks([m.pk], now=T0)
    assert SlaClock.objects.filter(mention=m).count() == 2


def test_no_policy_means_no_clocks(make_mention, db):
    SlaPolicy.objects.all().delete()
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    m.refresh_from_db()
    assert not SlaClock.objects.exists()
    assert m.sla_due_at is None


def test_a_human_answer_stops_every_response_clock_of_the_thread_started_before_it(
    make_mention, default_policy, agent
):
    first = make_mention(created_at=T0)
    second = make_mention(created_at=T0 + timedelta(minutes=5), thread=first.thread)
    later = make_mention(created_at=T0 + timedelta(minutes=20), thread=first.thread)
    sla.start_clocks([first.pk, second.pk], now=T0 + timedelta(minutes=6))
    answer_at = T0 + timedelta(minutes=12)
    sla.start_clocks([later.pk], now=answer_at + timedelta(minutes=9))

    sla.record_human_answer(second, at=answer_at, channel="reply", user=agent)

    a, b = clocks(first)["first_response#1"], clocks(second)["first_response#1"]
    for clock in (a, b):
        assert clock.state == SlaClock.State.MET
        assert clock.stopped_at == answer_at
        assert clock.stopped_by == agent
        assert clock.stopped_by_channel == "reply"
        assert clock.is_late is False
    assert a.elapsed_seconds == 12 * 60  # the oldest unanswered post drives the clock
    assert b.elapsed_seconds == 7 * 60
    assert clocks(later)["first_response#1"].state == SlaClock.State.ACTIVE
    second.refresh_from_db()
    assert second.sla_due_at == second.created_at + timedelta(
        hours=24
    )  # resolution now
    assert MentionEvent.objects.filter(
        mention=first,
        kind=MentionEvent.Kind.SLA,
        message__startswith="First response met",
    ).exists()


def test_an_answer_after_the_due_time_is_met_late(make_mention, default_policy):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    at = T0 + timedelta(minutes=75)
    sla.record_human_answer(m, at=at, channel="dm")
    clock = clocks(m)["first_response#1"]
    assert (clock.state, clock.is_late) == (SlaClock.State.MET, True)
    assert clock.breached_at == T0 + timedelta(minutes=60)
    assert clock.display_state == "met late"


def test_a_breached_clock_answered_later_is_met_late_and_keeps_its_breach_time(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.mark_breaches(now=T0 + timedelta(minutes=61))
    sla.record_human_answer(m, at=T0 + timedelta(minutes=90), channel="email")
    clock = clocks(m)["first_response#1"]
    assert (clock.state, clock.is_late) == (SlaClock.State.MET, True)
    assert clock.breached_at == T0 + timedelta(minutes=61)


def test_a_follow_up_after_an_answer_gets_next_response_clocks_counting_up(
    make_mention, default_policy
):
    first = make_mention(created_at=T0)
    sla.start_clocks([first.pk], now=T0)
    sla.record_human_answer(first, at=T0 + timedelta(minutes=10), channel="reply")
    follow = make_mention(created_at=T0 + timedelta(minutes=30), thread=first.thread)
    sla.start_clocks([follow.pk], now=T0 + timedelta(minutes=31))
    assert set(clocks(follow)) == {"next_response#1", "resolution#1"}
    assert clocks(follow)["next_response#1"].due_at == T0 + timedelta(minutes=90)

    sla.record_human_answer(follow, at=T0 + timedelta(minutes=40), channel="reply")
    third = make_mention(created_at=T0 + timedelta(minutes=50), thread=first.thread)
    sla.start_clocks([third.pk], now=T0 + timedelta(minutes=51))
    assert "next_response#2" in clocks(third)


def test_an_unknown_channel_is_refused(make_mention, default_policy):
    m = make_mention(created_at=T0)
    with pytest.raises(ValueError, match="channel must be one of"):
        sla.record_human_answer(m, at=T0, channel="carrier-pigeon")


def test_waiting_pauses_the_clocks_and_resuming_moves_the_due_time_by_the_pause(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    change(m, S.WAITING, T0 + timedelta(minutes=10))
    assert clocks(m)["first_response#1"].state == SlaClock.State.PAUSED
    assert m.sla_due_at is None  # nothing runs while waiting on the customer

    change(m, S.OPEN, T0 + timedelta(minutes=40))
    clock = clocks(m)["first_response#1"]
    assert clock.state == SlaClock.State.ACTIVE
    assert clock.paused_seconds == 30 * 60
    assert clock.due_at == T0 + timedelta(minutes=90)
    assert m.sla_due_at == T0 + timedelta(minutes=90)


def test_a_business_hours_pause_moves_the_due_time_by_open_hours_only(
    make_mention, default_policy, berlin_office
):
    default_policy.calendar = berlin_office
    default_policy.first_response_business = True
    default_policy.save()
    m = make_mention(created_at=utc(2026, 11, 23, 15, 30))  # Mon 16:30 Berlin
    sla.start_clocks([m.pk], now=m.created_at)
    assert clocks(m)["first_response#1"].due_at == utc(2026, 11, 24, 8, 30)  # Tue 09:30

    # Waiting from Mon 16:45 to Tue 10:00 Berlin: 15 + 60 minutes of open time passed.
    change(m, S.WAITING, utc(2026, 11, 23, 15, 45))
    change(m, S.OPEN, utc(2026, 11, 24, 9))
    clock = clocks(m)["first_response#1"]
    assert clock.paused_seconds == (17 * 60 + 15) * 60
    assert clock.paused_business_seconds == 75 * 60
    assert clock.due_at == utc(
        2026, 11, 24, 9, 45
    )  # Tue 10:45: 45 min were left at the pause

    sla.record_human_answer(m, at=utc(2026, 11, 24, 9, 20), channel="phone")
    clock.refresh_from_db()
    assert clock.elapsed_business_seconds == 35 * 60  # 15 min Monday + 20 min Tuesday
    assert clock.is_late is False


def test_a_breached_clock_stays_breached_while_waiting(make_mention, default_policy):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.mark_breaches(now=T0 + timedelta(minutes=61))
    change(m, S.WAITING, T0 + timedelta(minutes=62))
    c = clocks(m)
    assert c["first_response#1"].state == SlaClock.State.BREACHED
    assert c["resolution#1"].state == SlaClock.State.PAUSED
    assert m.sla_due_at == T0 + timedelta(minutes=60)  # still overdue, still shown


def test_resolving_stops_resolution_minus_paused_time_and_cancels_unanswered_responses(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    change(m, S.WAITING, T0 + timedelta(minutes=10))
    change(m, S.OPEN, T0 + timedelta(hours=2, minutes=10))
    change(m, S.RESOLVED, T0 + timedelta(hours=3))
    c = clocks(m)
    assert c["resolution#1"].state == SlaClock.State.MET
    assert c["resolution#1"].elapsed_seconds == 60 * 60  # 3 h minus 2 h waiting
    assert c["first_response#1"].state == SlaClock.State.CANCELLED
    assert m.sla_due_at is None


def test_reopening_starts_a_new_resolution_cycle_from_the_reopening(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.record_human_answer(m, at=T0 + timedelta(minutes=5), channel="reply")
    change(m, S.RESOLVED, T0 + timedelta(hours=1))
    reopened = T0 + timedelta(hours=5)
    change(m, S.OPEN, reopened)
    c = clocks(m)
    assert c["resolution#1"].state == SlaClock.State.MET
    assert c["resolution#2"].state == SlaClock.State.ACTIVE
    assert c["resolution#2"].started_at == reopened
    assert c["first_response#1"].state == SlaClock.State.MET  # answered: not revived
    assert m.sla_due_at == reopened + timedelta(hours=24)


def test_reopening_revives_a_response_clock_that_resolving_cancelled(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    change(m, S.RESOLVED, T0 + timedelta(minutes=10))
    change(m, S.OPEN, T0 + timedelta(minutes=20))
    c = clocks(m)
    assert c["first_response#1"].state == SlaClock.State.ACTIVE
    assert m.sla_due_at == T0 + timedelta(minutes=60)


@pytest.mark.parametrize("side_exit", [S.MONITORING, S.SPAM])
def test_monitoring_and_spam_cancel_running_clocks_and_leaving_revives_them(
    make_mention, default_policy, side_exit
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    change(m, side_exit, T0 + timedelta(minutes=5))
    assert {c.state for c in clocks(m).values()} == {SlaClock.State.CANCELLED}
    assert m.sla_due_at is None
    assert sla.mark_breaches(now=T0 + timedelta(days=2)) == []

    change(m, S.OPEN, T0 + timedelta(minutes=30))
    assert {c.state for c in clocks(m).values()} == {SlaClock.State.ACTIVE}
    assert m.sla_due_at == T0 + timedelta(minutes=60)


def test_mark_breaches_reports_each_clock_once(make_mention, default_policy):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    first_response = clocks(m)["first_response#1"]
    assert sla.mark_breaches(now=T0 + timedelta(minutes=59)) == []
    assert sla.mark_breaches(now=T0 + timedelta(minutes=60)) == [first_response.pk]
    assert sla.mark_breaches(now=T0 + timedelta(minutes=61)) == []
    first_response.refresh_from_db()
    assert first_response.state == SlaClock.State.BREACHED
    assert first_response.breached_at == T0 + timedelta(minutes=60)
    assert MentionEvent.objects.filter(
        mention=m, kind=MentionEvent.Kind.SLA, message="First response breached"
    ).exists()


def test_clocks_use_the_passed_time_not_the_system_clock(make_mention, default_policy):
    m = make_mention(created_at=T0)
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        sla.start_clocks([m.pk], now=T0)
        assert sla.mark_breaches(now=T0 + timedelta(minutes=30)) == []


def test_scansla_reports_and_marks_breaches(make_mention, default_policy):
    from io import StringIO

    from django.core.management import call_command

    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    out = StringIO()
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        call_command("scansla", "--mark", stdout=out)
    text = out.getvalue()
    assert "1 clock(s) newly breached." in text
    assert "breached, still running: 1" in text
    assert "active: 1" in text  # the resolution clock


def test_reopening_after_monitoring_then_resolved_runs_a_single_resolution_clock(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    change(m, S.MONITORING, T0 + timedelta(minutes=5))
    change(m, S.RESOLVED, T0 + timedelta(minutes=10))
    change(m, S.OPEN, T0 + timedelta(minutes=20))
    running = [c for c in clocks(m).values() if c.is_running]
    assert sorted(f"{c.target}#{c.cycle}" for c in running) == [
        "first_response#1",
        "resolution#2",
    ]


def test_reopening_into_waiting_starts_the_new_cycle_paused(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.record_human_answer(m, at=T0 + timedelta(minutes=5), channel="reply")
    change(m, S.RESOLVED, T0 + timedelta(minutes=10))
    change(m, S.WAITING, T0 + timedelta(minutes=20))
    assert clocks(m)["resolution#2"].state == SlaClock.State.PAUSED
    assert m.sla_due_at is None


def test_automated_triage_never_stops_a_response_clock(make_mention, default_policy):
    from mentions import triage

    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    at = T0 + timedelta(minutes=3)
    triage.add_tags(m, ["billing"], actor=None, now=at)
    triage.add_note(m, "escalated by rule", actor=None, now=at)
    triage.assign_mention(m, assignee=None, actor=None, now=at)
    triage.set_status(m, Mention.Status.OPEN, actor=None, now=at)
    assert {c.state for c in clocks(m).values()} == {SlaClock.State.ACTIVE}
    m.refresh_from_db()
    assert m.sla_due_at == T0 + timedelta(minutes=60)


def _business(policy, calendar):
    policy.calendar = calendar
    policy.first_response_business = True
    policy.resolution_minutes = None
    policy.save()


def test_a_business_due_time_across_the_fall_back_weekend_is_in_local_winter_time(
    make_mention, default_policy, berlin_office
):
    _business(default_policy, berlin_office)
    m = make_mention(created_at=utc(2026, 10, 23, 14, 30))  # Fri 16:30 CEST
    sla.start_clocks([m.pk], now=m.created_at)
    m.refresh_from_db()
    assert m.sla_due_at == utc(
        2026, 10, 26, 8, 30
    )  # Mon 09:30 CET, clocks went back on Sunday
    assert m.sla_hint.startswith("First response due Mon 26 Oct 09:30 CET")


def test_a_business_due_time_across_the_spring_forward_weekend_is_in_local_summer_time(
    make_mention, default_policy, berlin_office
):
    _business(default_policy, berlin_office)
    m = make_mention(created_at=utc(2026, 3, 27, 15, 30))  # Fri 16:30 CET
    sla.start_clocks([m.pk], now=m.created_at)
    m.refresh_from_db()
    assert m.sla_due_at == utc(2026, 3, 30, 7, 30)  # Mon 09:30 CEST
    assert m.sla_hint.startswith("First response due Mon 30 Mar 09:30 CEST")


def test_public_and_custom_holidays_push_a_business_due_time(
    make_mention, default_policy, berlin_office
):
    from datetime import date

    from mentions.sla.models import Holiday

    Holiday.objects.create(
        calendar=berlin_office, date=date(2026, 12, 28), name="Team day"
    )
    berlin_office.save()  # editing a calendar bumps its version (the pages do this)
    _business(default_policy, berlin_office)
    m = make_mention(
        created_at=utc(2026, 12, 24, 15, 30)
    )  # Thu 16:30 CET, then 25/26 Dec
    sla.start_clocks([m.pk], now=m.created_at)
    m.refresh_from_db()
    assert m.sla_due_at == utc(
        2026, 12, 29, 8, 30
    )  # Tue 09:30: Mon 28 Dec is the team day
