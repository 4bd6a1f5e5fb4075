"""The sweep and ingest evaluation: once per mention per target cycle, however often or concurrently."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from mentions.escalation import services
from mentions.escalation.models import EscalationFiring, EscalationRule
from mentions.models import Mention, MentionEvent
from mentions.sla.models import SlaClock
from tests.escalation.conftest import NOW, make_clock, make_rule

pytestmark = pytest.mark.django_db


def test_repeated_sweeps_fire_a_rule_once_per_mention(make_mention):
    mention = make_mention()
    make_clock(mention, due_in=timedelta(minutes=10))
    make_rule({"clock": {"target": "first_response", "due_within_minutes": 15}})

    fired = [services.sweep(now=NOW + timedelta(seconds=15 * i)) for i in range(5)]

    assert fired == [1, 0, 0, 0, 0]
    assert EscalationFiring.objects.count() == 1
    assert mention.events.filter(kind=MentionEvent.Kind.ESCALATION).count() == 1


def test_a_new_cycle_of_the_target_fires_again(make_mention):
    mention = make_mention()
    make_clock(mention, due_in=timedelta(minutes=-1), target="next_response", cycle=1)
    make_rule({"clock": {"target": "next_response", "breached": True}})
    services.sweep(now=NOW)

    make_clock(mention, due_in=timedelta(minutes=-1), target="next_response", cycle=2)
    services.sweep(now=NOW)
    services.sweep(now=NOW)

    assert sorted(EscalationFiring.objects.values_list("cycle", flat=True)) == [1, 2]


def test_each_rule_fires_on_its_own(make_mention):
    mention = make_mention("refund")
    make_rule({"keywords": ["refund"]})
    make_rule({"keywords": ["refund"]})

    assert services.sweep(now=NOW) == 2
    assert services.sweep(now=NOW) == 0
    assert mention.escalation_firings.count() == 2


def test_static_rules_look_only_at_recently_updated_mentions_between_full_evaluations(
    make_mention,
):
    old = make_mention("refund", updated_at=NOW - timedelta(hours=1))
    recent = make_mention("refund", updated_at=NOW - timedelta(seconds=20))
    make_rule({"keywords": ["refund"]})

    services.sweep(now=NOW, full=False)
    incremental = set(EscalationFiring.objects.values_list("mention_id", flat=True))
    services.sweep(now=NOW, full=True)

    assert incremental == {recent.pk}
    assert set(EscalationFiring.objects.values_list("mention_id", flat=True)) == {
        old.pk,
        recent.pk,
    }


def test_an_incremental_sweep_finds_mentions_just_crossing_the_unassigned_age(
    make_mention,
):
    crossing = make_mention(age_minutes=30, updated_at=NOW - timedelta(hours=1))
    make_mention(
        age_minutes=90, updated_at=NOW - timedelta(hours=1)
    )  # left to the full sweep
    make_rule({"unassigned_minutes": 30})

    services.sweep(now=NOW, full=False)

    assert list(EscalationFiring.objects.values_list("mention_id", flat=True)) == [
        crossing.pk
    ]


def test_a_full_sweep_rescans_only_new_rules_and_rules_reading_beyond_the_mention(
    make_mention,
):
    old = NOW - timedelta(hours=1)
    make_mention("refund", followers=50_000, updated_at=old)
    row_only = make_rule({"keywords": ["refund"]}, updated_at=old)
    followers = make_rule({"min_followers": 10_000}, updated_at=old)
    new = make_rule({"keywords": ["refund"]}, updated_at=NOW - timedelta(minutes=1))

    services.sweep(now=NOW, full=True)

    fired = set(EscalationFiring.objects.values_list("rule_id", flat=True))
    assert fired == {followers.pk, new.pk}
    assert row_only.pk not in fired


def test_clock_rules_look_at_every_open_mention_on_every_sweep(make_mention):
    old = make_mention(updated_at=NOW - timedelta(hours=1))
    make_clock(old, due_in=timedelta(minutes=5))
    make_rule({"clock": {"target": "first_response", "due_within_minutes": 15}})

    assert services.sweep(now=NOW, full=False) == 1


def test_one_sweep_per_period_makes_the_full_evaluation(make_mention):
    make_mention("refund", updated_at=NOW - timedelta(hours=1))
    make_mention("refund", updated_at=NOW - timedelta(hours=1))
    make_rule({"keywords": ["refund"]})

    # No full evaluation yet in this period: this sweep makes it.
    first = services.sweep(now=NOW)
    Mention.objects.update(
        updated_at=NOW - timedelta(hours=1)
    )  # the tagging touched them
    make_rule({"keywords": ["refund"]})
    second = services.sweep(now=NOW + timedelta(seconds=15))

    assert (first, second) == (2, 0)


def test_disabled_rules_do_not_fire(make_mention):
    make_mention("refund")
    make_rule({"keywords": ["refund"]}, is_active=False)

    assert services.sweep(now=NOW) == 0


def test_a_rule_sees_another_rules_changes_on_the_next_sweep(make_mention):
    mention = make_mention("refund")
    make_rule({"keywords": ["refund"]}, [{"type": "raise_priority", "priority": 4}])
    make_rule({"min_priority": 4}, [{"type": "add_tag", "tag": "urgent"}])

    first = services.sweep(now=NOW)
    second = services.sweep(now=NOW + timedelta(seconds=15))

    assert (first, second) == (1, 1)
    assert list(mention.tags.values_list("name", flat=True)) == ["urgent"]


def test_ingest_evaluation_fires_only_on_the_given_mentions(make_mention):
    new, old = make_mention("refund"), make_mention("refund")
    make_rule({"keywords": ["refund"]})

    services.evaluate_mentions([new.pk], now=NOW)

    assert list(EscalationFiring.objects.values_list("mention_id", flat=True)) == [
        new.pk
    ]
    assert old.pk


def test_ingest_evaluation_costs_two_queries_when_nothing_matches(
    make_mention, django_assert_num_queries
):
    ids = [make_mention("hello").pk for _ in range(20)]
    for _ in range(10):
        make_rule({"keywords": ["refund"], "min_priority": 2})

    with django_assert_num_queries(
        2
    ):  # load the active rules; one UNION ALL for all of them
        services.evaluate_mentions(ids, now=NOW)


def test_insert_firings_returns_only_the_rows_it_inserted(make_mention):
    mention = make_mention()
    rule = make_rule({"keywords": ["order"]})

    first = services.insert_firings(rule.pk, [(mention.pk, "", 0)], now=NOW)
    second = services.insert_firings(rule.pk, [(mention.pk, "", 0)], now=NOW)

    assert [f.mention_id for f in first] == [mention.pk]
    assert second == []


def test_the_pre_breach_warning_ships_enabled():
    EscalationRule.objects.filter(name="Pre-breach warning").update(is_active=True)
    rule = EscalationRule.objects.get(name="Pre-breach warning")

    assert rule.is_active
    assert rule.conditions == {
        "clock": {"target": "first_response", "due_within_minutes": 15}
    }
    assert rule.actions == [{"type": "notify_email", "to": "assignee_or_team"}]


def test_the_pre_breach_warning_emails_the_assignee_before_the_first_response_breaches(
    make_mention, agent
):
    EscalationRule.objects.filter(name="Pre-breach warning").update(is_active=True)
    mention = make_mention(assignee=agent)
    make_clock(mention, due_in=timedelta(minutes=12))

    services.sweep(now=NOW)

    firing = EscalationFiring.objects.get()
    assert (firing.mention, firing.target, firing.cycle) == (
        mention,
        "first_response",
        1,
    )
    assert [n.destination for n in firing.notifications.all()] == ["alice@example.com"]


def test_the_command_runs_one_sweep(make_mention, capsys):
    make_mention("refund")
    make_rule({"keywords": ["refund"]})

    call_command("sweepescalations")

    assert "1 escalation firing(s)." in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_fire_each_rule_once(make_mention):
    mentions = [make_mention("refund") for _ in range(30)]
    for m in mentions:
        make_clock(m, due_in=timedelta(minutes=5), state=SlaClock.State.ACTIVE)
    make_rule({"keywords": ["refund"]}, [{"type": "add_tag", "tag": "hot"}])
    make_rule({"clock": {"target": "first_response", "due_within_minutes": 10}})
    EscalationRule.objects.filter(name="Pre-breach warning").update(is_active=False)
    barrier = threading.Barrier(4)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(services.sweep(now=NOW))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(results) == 60
    assert EscalationFiring.objects.count() == 60
    assert (
        MentionEvent.objects.filter(
            kind=MentionEvent.Kind.TAGGED, message__endswith="hot"
        ).count()
        == 30
    )
    assert MentionEvent.objects.filter(kind=MentionEvent.Kind.ESCALATION).count() == 60
