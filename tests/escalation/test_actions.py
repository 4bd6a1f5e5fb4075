"""Each action, applied by a sweep through the triage services with no actor (automated)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from mentions.escalation import services
from mentions.escalation.models import Notification
from mentions.models import Mention, MentionEvent, Team
from tests.escalation.conftest import NOW, make_rule

pytestmark = pytest.mark.django_db


def fire(mention, actions) -> Mention:
    make_rule({"keywords": ["order"]}, actions)
    assert services.sweep(now=NOW) == 1
    mention.refresh_from_db()
    return mention


def test_every_firing_is_recorded_in_the_mention_history(make_mention):
    mention = make_mention()
    rule = make_rule({"keywords": ["order"]}, name="Late orders")

    services.sweep(now=NOW)

    event = mention.events.get(kind=MentionEvent.Kind.ESCALATION)
    assert event.message == 'Escalation rule "Late orders" fired'
    assert event.actor is None
    assert event.data["rule"] == rule.pk
    assert event.created_at == NOW


def test_it_raises_the_priority(make_mention):
    mention = fire(make_mention(), [{"type": "raise_priority", "priority": 4}])

    assert mention.priority == Mention.Priority.URGENT
    assert not mention.is_priority_overridden  # automated: scoring may still recompute
    assert mention.events.filter(kind=MentionEvent.Kind.PRIORITY, actor=None).exists()


def test_it_never_lowers_the_priority(make_mention):
    mention = fire(
        make_mention(priority=Mention.Priority.URGENT),
        [{"type": "raise_priority", "priority": 3}],
    )

    assert mention.priority == Mention.Priority.URGENT
    assert not mention.events.filter(kind=MentionEvent.Kind.PRIORITY).exists()


def test_it_assigns_to_an_agent_and_a_team(make_mention, agent):
    team = Team.objects.create(name="Tier 2")
    mention = fire(
        make_mention(), [{"type": "assign", "agent": agent.pk, "team": team.pk}]
    )

    assert mention.assignee == agent
    assert mention.team == team
    assert mention.status == Mention.Status.OPEN


def test_assigning_to_a_team_keeps_the_assignee(make_mention, agent):
    team = Team.objects.create(name="Tier 2")
    mention = fire(make_mention(assignee=agent), [{"type": "assign", "team": team.pk}])

    assert (mention.assignee, mention.team) == (agent, team)


def test_an_agent_deleted_after_the_rule_was_saved_is_reported_not_guessed(
    make_mention,
):
    gone = User.objects.create_user("gone")
    rule_actions = [{"type": "assign", "agent": gone.pk}]
    gone.delete()

    mention = fire(make_mention(), rule_actions)

    assert mention.assignee is None
    assert mention.events.filter(message__contains="no longer exists").exists()


def test_it_adds_a_tag(make_mention):
    mention = fire(make_mention(), [{"type": "add_tag", "tag": "escalated"}])

    assert list(mention.tags.values_list("name", flat=True)) == ["escalated"]


def test_it_adds_an_internal_note(make_mention):
    mention = fire(make_mention(), [{"type": "add_note", "body": "Call the customer"}])

    note = mention.notes.get()
    assert note.author is None
    assert "Call the customer" in note.body


def _emails(mention) -> list[str]:
    return list(
        Notification.objects.filter(
            firing__mention=mention, channel=Notification.Channel.EMAIL
        ).values_list("destination", flat=True)
    )


def test_it_emails_the_assignee(make_mention, agent):
    mention = fire(
        make_mention(assignee=agent), [{"type": "notify_email", "to": "assignee"}]
    )

    assert _emails(mention) == ["alice@example.com"]


def test_it_emails_the_team_members_when_unassigned(make_mention, agent, manager):
    team = Team.objects.create(name="Support")
    team.members.add(agent, manager)
    mention = fire(
        make_mention(team=team), [{"type": "notify_email", "to": "assignee_or_team"}]
    )

    assert sorted(_emails(mention)) == ["alice@example.com", "bob@example.com"]


def test_it_emails_fixed_addresses(make_mention):
    mention = fire(
        make_mention(),
        [
            {
                "type": "notify_email",
                "to": "addresses",
                "addresses": ["Lead@Example.com"],
            }
        ],
    )

    assert _emails(mention) == ["lead@example.com"]


def test_it_says_so_when_there_is_no_one_to_email(make_mention):
    mention = fire(make_mention(), [{"type": "notify_email", "to": "assignee_or_team"}])

    assert _emails(mention) == []
    assert mention.events.filter(message__contains="no one to email").exists()


def test_it_queues_a_webhook_and_enqueues_its_delivery_on_commit(
    make_mention, django_capture_on_commit_callbacks
):
    mention = make_mention()
    make_rule(
        {"keywords": ["order"]},
        [{"type": "webhook", "url": "https://hooks.example.com/x"}],
    )

    with django_capture_on_commit_callbacks() as callbacks:
        services.sweep(now=NOW)

    notification = Notification.objects.get(firing__mention=mention)
    assert notification.channel == Notification.Channel.WEBHOOK
    assert notification.state == Notification.State.QUEUED
    assert len(callbacks) == 1  # deliver_notification_task.delay, after the commit
