"""Policy matching: ordered, first match wins, a default; each condition; re-applying to open mentions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from mentions.models import Mention, Tag
from mentions.sla import services as sla
from mentions.sla.models import SlaClock, SlaPolicy
from mentions.sla.policies import MentionFacts, matches, pick_policy
from mentions.sla.reapply import reapply_policies
from tests.sla.conftest import utc

T0 = utc(2026, 11, 23, 10)
FACTS = MentionFacts(
    stream_ids=frozenset({7}),
    account_id=3,
    kind="dm",
    priority=4,
    followers=25_000,
    verified=True,
    lang="de",
    tags=frozenset({"billing"}),
)


@dataclass
class P:
    name: str
    conditions: dict[str, Any] = field(default_factory=dict)
    is_default: bool = False
    is_active: bool = True


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, True),
        ({"streams": [7, 8]}, True),
        ({"streams": [8]}, False),
        ({"accounts": [3]}, True),
        ({"accounts": [4]}, False),
        ({"kinds": ["dm"]}, True),
        ({"kinds": ["post"]}, False),
        ({"priorities": [3, 4]}, True),
        ({"priorities": [1]}, False),
        ({"min_followers": 25_000}, True),
        ({"min_followers": 25_001}, False),
        ({"verified": True}, True),
        ({"verified": False}, False),
        ({"languages": ["DE", "fr"]}, True),
        ({"languages": ["en"]}, False),
        ({"tags": ["Billing"]}, True),
        ({"tags": ["outage"]}, False),
        ({"kinds": ["dm"], "priorities": [1]}, False),
    ],
)
def test_each_condition_must_hold(conditions, expected):
    assert matches(conditions, FACTS) is expected


def test_the_first_matching_policy_wins_in_order():
    policies = [
        P("vip", {"min_followers": 10**6}),
        P("dms", {"kinds": ["dm"]}),
        P("de", {"languages": ["de"]}),
    ]
    assert pick_policy(policies, FACTS).name == "dms"


def test_the_default_applies_when_nothing_else_matches_wherever_it_sits():
    policies = [P("default", is_default=True), P("posts", {"kinds": ["post"]})]
    assert pick_policy(policies, FACTS).name == "default"


def test_inactive_policies_are_skipped_and_no_default_means_none():
    policies = [P("dms", {"kinds": ["dm"]}, is_active=False)]
    assert pick_policy(policies, FACTS) is None


@pytest.fixture
def urgent_dms(default_policy):
    return SlaPolicy.objects.create(
        name="Urgent DMs",
        position=10,
        calendar=default_policy.calendar,
        conditions={"kinds": ["dm"], "priorities": [4]},
        first_response_minutes=15,
    )


@pytest.mark.django_db
def test_ingest_gives_a_mention_the_targets_of_its_first_matching_policy(
    make_mention, urgent_dms, default_policy
):
    dm = make_mention(created_at=T0, kind="dm", priority=4)
    post = make_mention(created_at=T0, kind="post", priority=4)
    sla.start_clocks([dm.pk, post.pk], now=T0)
    dm.refresh_from_db()
    post.refresh_from_db()
    assert dm.sla_due_at == T0 + timedelta(minutes=15)
    # Urgent DMs has no resolution target: the DM only gets a first-response clock.
    assert set(dm.clocks.values_list("target", flat=True)) == {"first_response"}
    assert post.sla_due_at == T0 + timedelta(minutes=60)
    assert post.clocks.filter(policy=default_policy).count() == 2


@pytest.mark.django_db
def test_stream_and_follower_conditions_are_read_at_ingest(
    make_mention, stream, default_policy
):
    SlaPolicy.objects.create(
        name="Big accounts on @mentions",
        position=10,
        calendar=default_policy.calendar,
        conditions={"streams": [stream.pk], "min_followers": 10_000},
        first_response_minutes=5,
    )
    big = make_mention(created_at=T0, followers=50_000, streams=(stream,))
    small = make_mention(created_at=T0, followers=50, streams=(stream,))
    sla.start_clocks([big.pk, small.pk], now=T0)
    big.refresh_from_db()
    small.refresh_from_db()
    assert big.sla_due_at == T0 + timedelta(minutes=5)
    assert small.sla_due_at == T0 + timedelta(minutes=60)


@pytest.mark.django_db
def test_a_policy_change_reaches_open_mentions_only_when_re_applied(
    make_mention, default_policy
):
    open_m = make_mention(created_at=T0)
    done = make_mention(created_at=T0)
    sla.start_clocks([open_m.pk, done.pk], now=T0)
    sla.record_human_answer(done, at=T0 + timedelta(minutes=5), channel="reply")
    done.status = Mention.Status.RESOLVED
    done.save()
    sla.on_status_change(done, old="new", new="resolved", now=T0 + timedelta(minutes=6))

    default_policy.first_response_minutes = 30
    default_policy.save()
    open_m.refresh_from_db()
    assert open_m.sla_due_at == T0 + timedelta(minutes=60)  # not yet

    changes = reapply_policies(now=T0 + timedelta(minutes=10))

    assert [c.mention_id for c in changes] == [open_m.pk]
    assert changes[0].old_due_at == T0 + timedelta(minutes=60)
    assert changes[0].new_due_at == T0 + timedelta(minutes=30)
    open_m.refresh_from_db()
    assert open_m.sla_due_at == T0 + timedelta(minutes=30)
    assert (
        done.clocks.get(target="first_response").elapsed_seconds == 300
    )  # history unchanged


@pytest.mark.django_db
def test_re_applying_un_breaches_a_clock_whose_new_target_is_later(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    sla.mark_breaches(now=T0 + timedelta(minutes=61))
    default_policy.first_response_minutes = 120
    default_policy.save()
    reapply_policies(now=T0 + timedelta(minutes=62))
    clock = m.clocks.get(target="first_response")
    assert (clock.state, clock.breached_at) == (SlaClock.State.ACTIVE, None)
    assert sla.mark_breaches(now=T0 + timedelta(minutes=121)) == [clock.pk]


@pytest.mark.django_db
def test_re_applying_marks_a_mention_changed_when_only_a_later_clock_moves(
    make_mention, default_policy
):
    # The escalation sweep finds clock changes through Mention.updated_at (docs/escalation.md).
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    # The database stamps its own time (now()): any earlier value moves.
    long_ago = utc(2020, 1, 1)
    Mention.objects.filter(pk=m.pk).update(updated_at=long_ago)
    default_policy.resolution_minutes = 12 * 60
    default_policy.save()

    changes = reapply_policies(now=T0 + timedelta(minutes=1))

    m.refresh_from_db()
    assert changes == []  # the most urgent due time (first response) did not move
    assert m.clocks.get(target="resolution").due_at == T0 + timedelta(hours=12)
    assert m.updated_at > long_ago


@pytest.mark.django_db
def test_re_applying_leaves_a_mention_whose_clocks_did_not_move_unchanged(
    make_mention, default_policy
):
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    long_ago = utc(2020, 1, 1)
    Mention.objects.filter(pk=m.pk).update(updated_at=long_ago)

    reapply_policies(now=T0 + timedelta(minutes=1))

    m.refresh_from_db()
    assert m.updated_at == long_ago


@pytest.mark.django_db
def test_re_applying_matches_tags_added_after_ingest_and_cancels_dropped_targets(
    make_mention, default_policy
):
    SlaPolicy.objects.create(
        name="Billing",
        position=10,
        calendar=default_policy.calendar,
        conditions={"tags": ["billing"]},
        first_response_minutes=20,
    )
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    m.tags.add(Tag.objects.create(name="billing"))

    changes = reapply_policies(now=T0 + timedelta(minutes=1))

    assert [(c.old_policy, c.new_policy) for c in changes] == [("Default", "Billing")]
    assert m.clocks.get(target="first_response").due_at == T0 + timedelta(minutes=20)
    assert m.clocks.get(target="resolution").state == SlaClock.State.CANCELLED


@pytest.mark.django_db
def test_re_applying_starts_a_target_the_policy_gained(make_mention, default_policy):
    default_policy.resolution_minutes = None
    default_policy.save()
    m = make_mention(created_at=T0)
    sla.start_clocks([m.pk], now=T0)
    assert not m.clocks.filter(target="resolution").exists()
    default_policy.resolution_minutes = 8 * 60
    default_policy.save()
    reapply_policies(now=T0 + timedelta(minutes=1))
    assert m.clocks.get(target="resolution").due_at == T0 + timedelta(hours=8)


@pytest.mark.django_db
def test_the_data_migration_gives_a_fresh_install_a_24_7_calendar_and_a_default_policy():
    import importlib

    from django.apps import apps

    from mentions.sla.models import BusinessCalendar

    migration = importlib.import_module(
        "mentions.sla.migrations.0003_create_default_calendar_and_policy"
    )
    SlaPolicy.objects.all().delete()
    BusinessCalendar.objects.all().delete()

    migration.create(apps, None)
    policy = SlaPolicy.objects.get(is_default=True)
    assert policy.calendar.is_always_open
    assert (
        policy.first_response_minutes,
        policy.next_response_minutes,
        policy.resolution_minutes,
    ) == (60, 60, 24 * 60)

    migration.remove(apps, None)
    assert not SlaPolicy.objects.exists()
    assert not BusinessCalendar.objects.exists()
