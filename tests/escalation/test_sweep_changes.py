"""The sweep checks each rule only where it may have started to match (mentions/escalation/delta.py),
and a new rule meets the existing open mentions a slice per sweep (backfill.py). Each test makes a
fact change the way the product does, with no other change to the mention, and checks that the
next ordinary (not full) sweep fires exactly when the rule's conditions start to hold.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mentions import triage
from mentions.escalation import backfill, delta, services
from mentions.escalation.models import Backfill, EscalationFiring, Recheck, SweepState
from mentions.models import Author, Mention, MentionStream, Stream
from mentions.sla.models import SlaClock
from tests.escalation.conftest import NOW, make_clock, make_rule

pytestmark = pytest.mark.django_db

HOUR_AGO = NOW - timedelta(hours=1)
S = timedelta(seconds=1)


def fired(rule) -> list[int]:
    return sorted(
        EscalationFiring.objects.filter(rule=rule).values_list("mention_id", flat=True)
    )


def quick(at) -> int:
    return services.sweep(now=at, full=False)


# --- "unassigned for X" after an assignment change ------------------------------------------


def test_an_unassigned_rule_fires_x_minutes_after_the_mention_was_unassigned(
    make_mention, agent
):
    mention = make_mention(age_minutes=120, updated_at=HOUR_AGO)
    rule = make_rule({"unassigned_minutes": 30}, updated_at=HOUR_AGO)
    triage.assign_mention(
        mention, assignee=agent, actor=agent, now=NOW - timedelta(minutes=10)
    )
    triage.assign_mention(
        mention, assignee=None, actor=agent, now=NOW - timedelta(minutes=5)
    )

    before = [quick(NOW + timedelta(seconds=15 * i)) for i in range(3)]
    at_mark = quick(NOW + timedelta(minutes=25) + S)

    assert before == [0, 0, 0]
    assert at_mark == 1
    assert fired(rule) == [mention.pk]
    assert not Recheck.objects.exists()  # done, and cleared


def test_the_sweep_that_sees_the_unassignment_schedules_the_recheck(
    make_mention, agent
):
    mention = make_mention(age_minutes=120, updated_at=HOUR_AGO, assignee=agent)
    rule = make_rule({"unassigned_minutes": 30}, updated_at=HOUR_AGO)
    triage.assign_mention(mention, assignee=None, actor=agent, now=NOW - 10 * S)

    quick(NOW)

    recheck = Recheck.objects.get()
    assert (recheck.rule_id, recheck.mention_id) == (rule.pk, mention.pk)
    assert recheck.due_at == NOW - 10 * S + timedelta(minutes=30)


def test_a_reassignment_moves_the_recheck_later(make_mention, agent, manager):
    mention = make_mention(age_minutes=120, updated_at=HOUR_AGO, assignee=agent)
    rule = make_rule({"unassigned_minutes": 30}, updated_at=HOUR_AGO)
    triage.assign_mention(mention, assignee=None, actor=agent, now=NOW - 10 * S)
    quick(NOW)
    # Picked up again 10 minutes later, then dropped once more.
    later = NOW + timedelta(minutes=10)
    triage.assign_mention(mention, assignee=manager, actor=manager, now=later)
    quick(later + 15 * S)
    triage.assign_mention(mention, assignee=None, actor=manager, now=later + 20 * S)
    quick(later + 30 * S)

    first_mark = quick(NOW + timedelta(minutes=30))
    second_mark = quick(later + 20 * S + timedelta(minutes=30))

    assert (first_mark, second_mark) == (0, 1)
    assert fired(rule) == [mention.pk]


def test_a_mention_reassigned_for_good_never_fires(make_mention, agent):
    mention = make_mention(age_minutes=120, updated_at=HOUR_AGO, assignee=agent)
    rule = make_rule({"unassigned_minutes": 30}, updated_at=HOUR_AGO)
    triage.assign_mention(mention, assignee=None, actor=agent, now=NOW - 10 * S)
    quick(NOW)
    triage.assign_mention(mention, assignee=agent, actor=agent, now=NOW + 20 * S)

    quick(NOW + timedelta(minutes=31))

    assert fired(rule) == []


def test_a_recheck_of_a_disabled_rule_is_dropped_when_due(make_mention, agent):
    mention = make_mention(age_minutes=120, updated_at=HOUR_AGO, assignee=agent)
    rule = make_rule({"unassigned_minutes": 30}, updated_at=HOUR_AGO)
    triage.assign_mention(mention, assignee=None, actor=agent, now=NOW - 10 * S)
    quick(NOW)
    rule.is_active = False
    rule.save(update_fields=["is_active"])

    quick(NOW + timedelta(minutes=31))

    assert fired(rule) == []
    assert not Recheck.objects.exists()


# --- Facts outside the mention row --------------------------------------------------------


def test_a_follower_rule_fires_when_the_authors_count_grows(make_mention):
    mention = make_mention(followers=100, updated_at=HOUR_AGO)
    rule = make_rule({"min_followers": 10_000}, updated_at=HOUR_AGO)
    Author.objects.update(updated_at=HOUR_AGO)
    assert quick(NOW) == 0

    # Ingest refreshes the profile (and its updated_at) when the author shows up again.
    Author.objects.filter(pk=mention.author_id).update(
        followers_count=12_000, updated_at=NOW + 5 * S
    )

    assert quick(NOW + 15 * S) == 1
    assert fired(rule) == [mention.pk]


def test_a_follower_rule_ignores_authors_still_below_the_threshold(make_mention):
    mention = make_mention(followers=100, updated_at=HOUR_AGO)
    rule = make_rule({"min_followers": 10_000}, updated_at=HOUR_AGO)
    Author.objects.update(updated_at=HOUR_AGO)
    quick(NOW)
    Author.objects.filter(pk=mention.author_id).update(
        followers_count=9_999, updated_at=NOW + 5 * S
    )

    assert quick(NOW + 15 * S) == 0
    assert fired(rule) == []


def test_a_stream_rule_fires_when_a_second_stream_matches_the_mention_later(
    make_mention, account
):
    second = Stream.objects.create(
        account=account, kind=Stream.Kind.SEARCH, name="refunds", query="refund"
    )
    mention = make_mention(updated_at=HOUR_AGO)
    rule = make_rule({"streams": [second.pk]}, updated_at=HOUR_AGO)
    MentionStream.objects.update(matched_at=HOUR_AGO)
    assert quick(NOW) == 0

    MentionStream.objects.create(mention=mention, stream=second, matched_at=NOW + 5 * S)

    assert quick(NOW + 15 * S) == 1
    assert fired(rule) == [mention.pk]


def test_only_the_rule_whose_fact_changed_looks_at_the_mention(make_mention):
    mention = make_mention("refund please", followers=100, updated_at=HOUR_AGO)
    followers = make_rule({"min_followers": 50}, updated_at=HOUR_AGO)
    keywords = make_rule({"keywords": ["refund"]}, updated_at=HOUR_AGO)
    Author.objects.filter(pk=mention.author_id).update(updated_at=NOW + 5 * S)

    quick(NOW + 15 * S)

    # The keyword rule matched all along, but nothing it reads changed: that was the backfill's job.
    assert (fired(followers), fired(keywords)) == ([mention.pk], [])


# --- Clocks entering a window ---------------------------------------------------------------


def test_a_clock_rule_fires_when_the_clock_enters_its_window_with_no_change(
    make_mention,
):
    mention = make_mention(updated_at=HOUR_AGO)
    make_clock(mention, due_in=timedelta(minutes=20))
    rule = make_rule(
        {"clock": {"target": "first_response", "due_within_minutes": 15}},
        updated_at=HOUR_AGO,
    )

    early = [quick(NOW + timedelta(seconds=15 * i)) for i in range(4)]
    entered = quick(NOW + timedelta(minutes=5) + S)

    assert (early, entered) == ([0, 0, 0, 0], 1)
    assert fired(rule) == [mention.pk]


def test_a_breach_rule_fires_when_the_clock_runs_out(make_mention):
    mention = make_mention(updated_at=HOUR_AGO)
    make_clock(mention, due_in=timedelta(minutes=1))
    rule = make_rule(
        {"clock": {"target": "first_response", "breached": True}}, updated_at=HOUR_AGO
    )

    assert quick(NOW) == 0
    assert quick(NOW + timedelta(minutes=1)) == 1
    assert fired(rule) == [mention.pk]


def test_a_clock_moved_into_the_window_is_found_through_the_mentions_change(
    make_mention,
):
    mention = make_mention(updated_at=HOUR_AGO)
    clock = make_clock(mention, due_in=timedelta(hours=5))
    rule = make_rule(
        {"clock": {"target": "first_response", "due_within_minutes": 15}},
        updated_at=HOUR_AGO,
    )
    quick(NOW)
    # As the SLA services do: the clock moves and the mention's updated_at with it.
    SlaClock.objects.filter(pk=clock.pk).update(due_at=NOW + timedelta(minutes=10))
    Mention.objects.filter(pk=mention.pk).update(updated_at=NOW + 5 * S)

    assert quick(NOW + 15 * S) == 1
    assert fired(rule) == [mention.pk]


# --- The watermark ---------------------------------------------------------------------------


def test_a_sweep_after_an_outage_sees_every_change_since_the_last_one(make_mention):
    mention = make_mention("refund", updated_at=HOUR_AGO)
    rule = make_rule({"keywords": ["refund"]}, updated_at=HOUR_AGO)
    quick(NOW)
    Mention.objects.filter(pk=mention.pk).update(updated_at=NOW + timedelta(minutes=1))

    # Workers down for half an hour: far more than the overlap between two sweeps.
    assert quick(NOW + timedelta(minutes=30)) == 1
    assert fired(rule) == [mention.pk]
    assert SweepState.objects.get().swept_at == NOW + timedelta(minutes=30)


def test_the_watermark_never_moves_backwards():
    delta.record_sweep(NOW)
    delta.record_sweep(NOW - timedelta(minutes=1))

    assert delta.last_swept_at() == NOW


# --- Rules created or edited: the backfill ----------------------------------------------------


def test_an_edited_rule_meets_the_existing_mentions_in_the_next_full_sweep(
    make_mention,
):
    refund = make_mention("refund", updated_at=HOUR_AGO)
    chargeback = make_mention("chargeback", updated_at=HOUR_AGO)
    rule = make_rule({"keywords": ["refund"]}, updated_at=HOUR_AGO)
    services.sweep(now=NOW, full=True)
    assert fired(rule) == []  # settled long ago, nothing changed

    rule.conditions = {"keywords": ["refund", "chargeback"]}
    rule.updated_at = NOW + 5 * S
    rule.save()
    quick(NOW + 15 * S)  # not a full sweep: the rule waits for one
    assert fired(rule) == []
    services.sweep(now=NOW + 30 * S, full=True)

    assert fired(rule) == sorted([refund.pk, chargeback.pk])
    backfilled = Backfill.objects.get()
    assert (backfilled.version, backfilled.finished_at) == (
        NOW + 5 * S,
        NOW + 30 * S,
    )


def test_a_backfill_proceeds_a_slice_per_sweep_and_misses_nothing(
    make_mention, monkeypatch
):
    monkeypatch.setattr(backfill, "SLICE", 2)
    monkeypatch.setattr(backfill, "BUDGET", 0.0)  # one slice per sweep
    mentions = [make_mention("refund", updated_at=HOUR_AGO) for _ in range(5)]
    rule = make_rule({"keywords": ["refund"]}, updated_at=NOW)

    counts = [services.sweep(now=NOW + 15 * S, full=True)]
    # A mention the backfill has not reached yet changes: the change tracking catches it too.
    Mention.objects.filter(pk=mentions[4].pk).update(updated_at=NOW + 20 * S)
    counts += [quick(NOW + timedelta(seconds=15 * i)) for i in range(2, 6)]

    assert counts == [2, 3, 0, 0, 0]
    assert fired(rule) == sorted(m.pk for m in mentions)
    assert Backfill.objects.get().finished_at is not None


def test_editing_a_rule_during_its_backfill_starts_over_with_the_new_version(
    make_mention, monkeypatch
):
    monkeypatch.setattr(backfill, "SLICE", 1)
    monkeypatch.setattr(backfill, "BUDGET", 0.0)
    make_mention("refund", updated_at=HOUR_AGO)
    make_mention("refund", updated_at=HOUR_AGO)
    rule = make_rule({"keywords": ["nothing"]}, updated_at=NOW)
    services.sweep(now=NOW + 15 * S, full=True)

    rule.conditions = {"keywords": ["refund"]}
    rule.updated_at = NOW + 20 * S
    rule.save()
    quick(NOW + 30 * S)  # drops the old version's backfill
    assert not Backfill.objects.exists()
    services.sweep(now=NOW + 45 * S, full=True)
    quick(NOW + 60 * S)

    assert len(fired(rule)) == 2
    assert list(Backfill.objects.values_list("version", flat=True)) == [NOW + 20 * S]


def test_a_new_unassigned_rule_schedules_rechecks_for_recent_unassignments(
    make_mention, agent
):
    mention = make_mention(age_minutes=120, updated_at=HOUR_AGO, assignee=agent)
    triage.assign_mention(mention, assignee=None, actor=agent, now=NOW - 10 * S)
    Mention.objects.filter(pk=mention.pk).update(updated_at=HOUR_AGO)
    rule = make_rule({"unassigned_minutes": 30}, updated_at=NOW)

    services.sweep(now=NOW + 15 * S, full=True)
    quick(NOW + timedelta(minutes=30))

    assert fired(rule) == [mention.pk]


def test_saving_a_rule_in_the_django_admin_makes_it_new_for_the_sweep(admin_user, rf):
    from django.contrib.admin.sites import site

    from mentions.escalation.admin import EscalationRuleAdmin
    from mentions.escalation.models import EscalationRule

    rule = make_rule({"keywords": ["refund"]}, is_active=False, updated_at=HOUR_AGO)
    rule.is_active = True
    request = rf.post("/admin/")
    request.user = admin_user

    EscalationRuleAdmin(EscalationRule, site).save_model(
        request, rule, form=None, change=True
    )

    rule.refresh_from_db()
    assert rule.is_active
    assert rule.updated_at > HOUR_AGO


def test_a_sweep_that_fails_while_firing_checks_the_same_slice_and_window_again(
    make_mention, monkeypatch
):
    from mentions.escalation import actions

    refund = make_mention("refund", updated_at=HOUR_AGO)
    clocked = make_mention(updated_at=HOUR_AGO)
    make_clock(clocked, due_in=timedelta(minutes=5))
    keywords = make_rule({"keywords": ["refund"]}, updated_at=NOW)
    soon = make_rule(
        {"clock": {"target": "first_response", "due_within_minutes": 15}},
        updated_at=NOW,
    )
    real_apply = actions.apply

    def broken(*args, **kwargs):
        raise RuntimeError("SMTP settings broken")

    monkeypatch.setattr(actions, "apply", broken)
    with pytest.raises(RuntimeError):
        services.sweep(now=NOW + 15 * S, full=True)
    monkeypatch.setattr(actions, "apply", real_apply)
    quick(NOW + 30 * S)

    assert (fired(keywords), fired(soon)) == ([refund.pk], [clocked.pk])
