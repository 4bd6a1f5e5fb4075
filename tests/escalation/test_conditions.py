"""Each condition on its own, and their AND; matching is done in SQL (services.find_matches)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mentions.escalation.services import find_matches
from mentions.models import Mention, MentionEvent, Stream, Team
from mentions.sla.models import SlaClock
from tests.escalation.conftest import NOW, make_clock, make_rule

pytestmark = pytest.mark.django_db


def matched(rule) -> set[int]:
    return {m for _, m, _, _ in find_matches([rule], now=NOW)}


def test_it_matches_a_clock_due_within_the_window_but_not_later_or_past_due(
    make_mention,
):
    soon, later, overdue = make_mention(), make_mention(), make_mention()
    make_clock(soon, due_in=timedelta(minutes=14))
    make_clock(later, due_in=timedelta(minutes=16))
    make_clock(overdue, due_in=timedelta(minutes=-1))
    rule = make_rule({"clock": {"target": "first_response", "due_within_minutes": 15}})

    assert matched(rule) == {soon.pk}


def test_it_ignores_paused_met_and_other_target_clocks_for_due_within(make_mention):
    paused, met, other = make_mention(), make_mention(), make_mention()
    make_clock(paused, due_in=timedelta(minutes=5), state=SlaClock.State.PAUSED)
    make_clock(
        met, due_in=timedelta(minutes=5), state=SlaClock.State.MET, stopped_at=NOW
    )
    make_clock(other, due_in=timedelta(minutes=5), target=SlaClock.Target.RESOLUTION)
    rule = make_rule({"clock": {"target": "first_response", "due_within_minutes": 15}})

    assert matched(rule) == set()


def test_it_matches_breached_clocks_marked_or_running_past_due(make_mention):
    marked, unmarked, running, answered = (make_mention() for _ in range(4))
    make_clock(marked, due_in=timedelta(minutes=-5), state=SlaClock.State.BREACHED)
    make_clock(unmarked, due_in=timedelta(minutes=-1))
    make_clock(running, due_in=timedelta(minutes=1))
    make_clock(
        answered,
        due_in=timedelta(minutes=-5),
        state=SlaClock.State.MET,
        is_late=True,
        stopped_at=NOW,
    )
    rule = make_rule({"clock": {"target": "first_response", "breached": True}})

    assert matched(rule) == {marked.pk, unmarked.pk}


def test_a_clock_rule_reports_the_clock_target_and_cycle(make_mention):
    mention = make_mention()
    make_clock(mention, due_in=timedelta(minutes=-1), target="next_response", cycle=3)
    rule = make_rule({"clock": {"target": "next_response", "breached": True}})

    assert find_matches([rule], now=NOW) == [(rule.pk, mention.pk, "next_response", 3)]


def test_it_matches_mentions_unassigned_for_the_given_minutes(make_mention, agent):
    old = make_mention(age_minutes=40)
    fresh = make_mention(age_minutes=10)
    assigned = make_mention(age_minutes=40, assignee=agent)
    recently_unassigned = make_mention(age_minutes=40)
    MentionEvent.objects.create(
        mention=recently_unassigned,
        kind=MentionEvent.Kind.ASSIGNED,
        message="unassigned",
        created_at=NOW - timedelta(minutes=5),
    )
    rule = make_rule({"unassigned_minutes": 30})

    assert matched(rule) == {old.pk}
    assert fresh.pk
    assert assigned.pk


def test_it_matches_priority_at_least(make_mention):
    high = make_mention(priority=Mention.Priority.HIGH)
    urgent = make_mention(priority=Mention.Priority.URGENT)
    make_mention(priority=Mention.Priority.NORMAL)

    assert matched(make_rule({"min_priority": 3})) == {high.pk, urgent.pk}


def test_it_matches_sentiment_at_most_and_skips_unscored(make_mention):
    angry = make_mention(sentiment=-0.8)
    make_mention(sentiment=-0.2)
    make_mention(sentiment=None)

    assert matched(make_rule({"max_sentiment": -0.5})) == {angry.pk}


def test_it_matches_authors_with_enough_followers(make_mention):
    big = make_mention(followers=50_000)
    make_mention(followers=999)

    assert matched(make_rule({"min_followers": 10_000})) == {big.pk}


def test_it_matches_any_keyword_case_insensitively(make_mention):
    refund = make_mention("I want a REFUND now")
    lawyer = make_mention("calling my lawyer")
    make_mention("thanks, all good")

    assert matched(make_rule({"keywords": ["refund", "Lawyer"]})) == {
        refund.pk,
        lawyer.pk,
    }


def test_it_matches_mentions_from_the_given_streams(make_mention, account):
    search = Stream.objects.create(
        account=account, kind=Stream.Kind.SEARCH, name="search", query="acme"
    )
    from_search = make_mention(stream_=search)
    make_mention()

    assert matched(make_rule({"streams": [search.pk]})) == {from_search.pk}


def test_it_matches_mentions_of_the_given_teams(make_mention):
    billing = Team.objects.create(name="Billing")
    ours = make_mention(team=billing)
    make_mention()

    assert matched(make_rule({"teams": [billing.pk]})) == {ours.pk}


def test_conditions_combine_with_and(make_mention):
    both = make_mention("refund please", priority=Mention.Priority.URGENT)
    make_mention("refund please", priority=Mention.Priority.LOW)
    make_mention("hello", priority=Mention.Priority.URGENT)
    make_clock(both, due_in=timedelta(minutes=3))

    rule = make_rule(
        {
            "clock": {"target": "first_response", "due_within_minutes": 5},
            "min_priority": 4,
            "keywords": ["refund"],
        }
    )

    assert matched(rule) == {both.pk}


@pytest.mark.parametrize(
    "status", [Mention.Status.RESOLVED, Mention.Status.SPAM, Mention.Status.MONITORING]
)
def test_closed_mentions_never_escalate(make_mention, status):
    make_mention("refund", status=status)

    assert matched(make_rule({"keywords": ["refund"]})) == set()


def test_evaluation_can_be_restricted_to_some_mentions(make_mention):
    a, b = make_mention("refund"), make_mention("refund")
    rule = make_rule({"keywords": ["refund"]})

    rows = find_matches([rule], now=NOW, mention_ids=[b.pk])

    assert [m for _, m, _, _ in rows] == [b.pk]
    assert a.pk != b.pk
