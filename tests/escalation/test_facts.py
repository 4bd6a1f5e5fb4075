"""The ingest path's Python matching (facts.matches) agrees with the sweep's SQL (rules.candidates)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from mentions.escalation import facts
from mentions.escalation.services import find_matches
from mentions.models import Mention, MentionEvent, Stream, Team
from mentions.sla.models import SlaClock
from tests.escalation.conftest import NOW, make_clock, make_rule

pytestmark = pytest.mark.django_db

TEXTS = [
    "I want a Refund",
    "calling my LAWYER",
    "thanks!",
    "the app is down (again)",
    "refund? sue?",
]


@pytest.fixture
def population(make_mention, account, agent):
    """60 mentions with every attribute the conditions read, varied deterministically."""
    rng = random.Random(4)
    team = Team.objects.create(name="Billing")
    other = Stream.objects.create(
        account=account, kind=Stream.Kind.SEARCH, name="s", query="q"
    )
    mentions = []
    for _ in range(60):
        mention = make_mention(
            rng.choice(TEXTS),
            followers=rng.choice([0, 999, 1000, 50_000]),
            age_minutes=rng.choice([1, 29, 31, 120]),
            priority=rng.randint(1, 4),
            sentiment=rng.choice([None, -0.9, -0.5, 0.0, 0.7]),
            status=rng.choice(["new", "open", "waiting", "resolved", "spam"]),
            team=rng.choice([None, team]),
            assignee=rng.choice([None, None, agent]),
            stream_=rng.choice([None, other]),
        )
        for target in rng.sample(list(SlaClock.Target.values), rng.randint(0, 2)):
            make_clock(
                mention,
                target=target,
                cycle=rng.choice([1, 2]),
                due_in=timedelta(minutes=rng.choice([-30, -1, 0, 1, 14, 15, 16, 90])),
                state=rng.choice(["active", "active", "paused", "breached", "met"]),
            )
        if rng.random() < 0.2:
            MentionEvent.objects.create(
                mention=mention,
                kind=MentionEvent.Kind.ASSIGNED,
                message="changed",
                created_at=NOW - timedelta(minutes=rng.choice([5, 45])),
            )
        mentions.append(mention)
    return {"mentions": mentions, "team": team, "stream": other}


RULES = [
    {"clock": {"target": "first_response", "due_within_minutes": 15}},
    {"clock": {"target": "next_response", "breached": True}},
    {"clock": {"target": "resolution", "due_within_minutes": 60}, "min_priority": 3},
    {"unassigned_minutes": 30},
    {"min_priority": 4, "max_sentiment": -0.5},
    {"min_followers": 1000, "keywords": ["refund", "sue"]},
    {"keywords": ["(again)"]},
    {"streams": "stream"},
    {"teams": "team", "clock": {"target": "first_response", "breached": True}},
]


@pytest.mark.parametrize("conditions", RULES)
def test_python_matching_agrees_with_sql(population, conditions):
    conditions = dict(conditions)
    if conditions.get("streams") == "stream":
        conditions["streams"] = [population["stream"].pk]
    if conditions.get("teams") == "team":
        conditions["teams"] = [population["team"].pk]
    rule = make_rule(conditions)
    ids = [m.pk for m in population["mentions"]]

    sql = {(m, t, c) for _, m, t, c in find_matches([rule], now=NOW, mention_ids=ids)}
    page = facts.load(ids, clocks=True, streams=True, assignments=True)
    python = {
        (f.id, t, c) for f in page for t, c in facts.matches(conditions, f, now=NOW)
    }

    assert python == sql
    assert sql  # the population gives every rule something to match
    assert Mention.objects.count() == 60


@pytest.mark.parametrize("conditions", RULES)
def test_ingest_evaluation_fires_exactly_what_the_sweep_would(population, conditions):
    from django.db.models import Min, OuterRef, Subquery

    from mentions.escalation import services
    from mentions.escalation.models import EscalationFiring

    # What mentions.sla maintains: the due time of each mention's most urgent running clock.
    running = (
        SlaClock.objects.filter(
            mention=OuterRef("pk"),
            state__in=["active", "breached"],
            stopped_at__isnull=True,
        )
        .values("mention")
        .annotate(due=Min("due_at"))
        .values("due")
    )
    Mention.objects.update(sla_due_at=Subquery(running))
    conditions = dict(conditions)
    if conditions.get("streams") == "stream":
        conditions["streams"] = [population["stream"].pk]
    if conditions.get("teams") == "team":
        conditions["teams"] = [population["team"].pk]
    rule = make_rule(conditions, [{"type": "add_note", "body": "x"}])
    ids = [m.pk for m in population["mentions"]]
    expected = {
        (m, t, c) for _, m, t, c in find_matches([rule], now=NOW, mention_ids=ids)
    }

    services.evaluate_mentions(ids, now=NOW)

    fired = set(EscalationFiring.objects.values_list("mention_id", "target", "cycle"))
    assert fired == expected
