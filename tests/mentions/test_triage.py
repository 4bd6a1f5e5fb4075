"""Triage services: each change is recorded once in the history and bumps the live queue's cursor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mentions import triage
from mentions.models import Mention, MentionEvent, Note, Tag, Team
from tests.mentions.queue_helpers import (
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mention():
    return make_mention(make_account())


@pytest.fixture
def now():
    return timezone.now() + timedelta(minutes=1)


def events(mention, kind):
    return list(mention.events.filter(kind=kind))


def test_assigning_a_new_mention_opens_it_and_records_who(mention, agent, manager, now):
    team = Team.objects.create(name="Care")

    triage.assign_mention(mention, assignee=agent, team=team, actor=manager, now=now)

    mention.refresh_from_db()
    assert (mention.assignee, mention.team, mention.status) == (agent, team, "open")
    assert mention.updated_at == now
    [event] = events(mention, MentionEvent.Kind.ASSIGNED)
    assert event.actor == manager
    assert event.message == "bob assigned it to alice (team Care)"


def test_unassigning_keeps_the_status(mention, agent, now):
    triage.assign_mention(mention, assignee=agent, actor=agent, now=now)
    triage.assign_mention(mention, assignee=None, actor=agent, now=now)

    mention.refresh_from_db()
    assert (mention.assignee, mention.status) == (None, "open")


def test_setting_the_same_status_records_nothing(mention, agent, now):
    triage.set_status(mention, Mention.Status.NEW, actor=agent, now=now)

    assert mention.events.count() == 0


def test_a_status_change_is_recorded_with_old_and_new(mention, agent, now):
    triage.set_status(mention, Mention.Status.WAITING, actor=agent, now=now)

    [event] = events(mention, MentionEvent.Kind.STATUS)
    assert event.data == {"old": "new", "new": "waiting"}
    mention.refresh_from_db()
    assert mention.updated_at == now


def test_an_automated_priority_change_is_not_an_override(mention, now):
    triage.set_priority(mention, Mention.Priority.URGENT, actor=None, now=now)

    mention.refresh_from_db()
    assert mention.priority == 4
    assert not mention.is_priority_overridden
    assert events(mention, MentionEvent.Kind.PRIORITY)[0].actor is None


def test_tags_are_normalised_and_added_once(mention, agent, now):
    triage.add_tags(mention, ["Billing", " billing ", "outage"], actor=agent, now=now)
    added = triage.add_tags(mention, ["outage"], actor=agent, now=now)

    assert added == []
    assert sorted(mention.tags.values_list("name", flat=True)) == ["billing", "outage"]
    assert len(events(mention, MentionEvent.Kind.TAGGED)) == 1
    mention.refresh_from_db()
    assert mention.updated_at == now


def test_removing_a_tag_is_recorded(mention, agent, now):
    triage.add_tags(mention, ["billing"], actor=agent, now=now)

    triage.remove_tag(mention, Tag.objects.get(name="billing"), actor=agent, now=now)

    assert mention.tags.count() == 0
    assert len(events(mention, MentionEvent.Kind.UNTAGGED)) == 1


def test_a_note_is_stored_and_recorded(mention, agent, now):
    note = triage.add_note(mention, "called the courier", actor=agent, now=now)

    assert Note.objects.get() == note
    assert events(mention, MentionEvent.Kind.NOTE)[0].data == {"note": note.pk}


def test_bulk_versions_change_every_mention_once_and_skip_unknown_ids(agent, now):
    account = make_account()
    mentions = [make_mention(account) for _ in range(3)]
    ids = [m.pk for m in mentions] + [999_999]

    assert triage.bulk_assign(ids, assignee=agent, actor=agent, now=now) == ids[:3]
    triage.bulk_set_status(ids, Mention.Status.WAITING, actor=agent, now=now)
    triage.bulk_set_priority(ids, Mention.Priority.HIGH, actor=agent, now=now)
    triage.bulk_add_tags(ids, ["vip"], actor=agent, now=now)

    for m in mentions:
        kinds = sorted(m.events.values_list("kind", flat=True))
        assert kinds == ["assigned", "priority", "status", "tagged"]
        m.refresh_from_db()
        assert (m.assignee, m.status, m.priority) == (agent, "waiting", 3)
