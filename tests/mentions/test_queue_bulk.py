"""Bulk actions on the selected rows: assign, status, priority, tag; one history event per mention."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mentions.models import Mention, MentionEvent
from tests.mentions.queue_helpers import (
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentions():
    account = make_account()
    return [make_mention(account) for _ in range(3)]


def post(client, **data):
    return client.post("/mentions/bulk/", data, headers={"HX-Request": "true"})


def test_anonymous_users_cannot_act(client, mentions):
    response = client.post(
        "/mentions/bulk/", {"ids": [mentions[0].pk], "action": "claim"}
    )

    assert response.status_code == 302
    assert Mention.objects.filter(assignee__isnull=False).count() == 0


def test_a_user_without_a_role_is_refused(client, mentions):
    client.force_login(User.objects.create_user("mallory", password="x"))

    response = post(client, ids=[mentions[0].pk], action="claim")

    assert response.status_code == 403


def test_a_post_without_the_csrf_token_is_refused(agent, mentions):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    response = client.post(
        "/mentions/bulk/", {"ids": [mentions[0].pk], "action": "claim"}
    )

    assert response.status_code == 403
    assert Mention.objects.filter(assignee__isnull=False).count() == 0


def test_it_assigns_the_selected_mentions_to_me_with_one_event_each(
    agent_client, agent, mentions
):
    response = post(agent_client, ids=[m.pk for m in mentions[:2]], action="claim")

    assert response.status_code == 200
    assert "Assigned to you: 2 mentions." in response.content.decode()
    assert "queue:changed" in response["HX-Trigger"]
    for m in mentions[:2]:
        m.refresh_from_db()
        assert (m.assignee, m.status) == (agent, Mention.Status.OPEN)
        assert (
            m.events.filter(kind=MentionEvent.Kind.ASSIGNED, actor=agent).count() == 1
        )
    mentions[2].refresh_from_db()
    assert mentions[2].assignee is None


def test_it_assigns_to_another_agent(agent_client, manager, mentions):
    post(agent_client, ids=[mentions[0].pk], action="assign", assignee=manager.pk)

    mentions[0].refresh_from_db()
    assert mentions[0].assignee == manager


def test_it_sets_the_status(agent_client, mentions):
    post(agent_client, ids=[m.pk for m in mentions], action="status", status="resolved")

    assert set(Mention.objects.values_list("status", flat=True)) == {"resolved"}
    assert MentionEvent.objects.filter(kind=MentionEvent.Kind.STATUS).count() == 3


def test_it_sets_the_priority_as_an_override(agent_client, mentions):
    post(agent_client, ids=[mentions[0].pk], action="priority", priority="4")

    mentions[0].refresh_from_db()
    assert mentions[0].priority == 4
    assert mentions[0].is_priority_overridden


def test_it_tags(agent_client, mentions):
    post(
        agent_client,
        ids=[m.pk for m in mentions[:2]],
        action="tag",
        tags="Billing, outage",
    )

    for m in mentions[:2]:
        assert sorted(m.tags.values_list("name", flat=True)) == ["billing", "outage"]
        assert m.events.filter(kind=MentionEvent.Kind.TAGGED).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "claim"}, "Select at least one mention."),
        ({"ids": ["1"], "action": "status"}, "Choose a status."),
        ({"ids": ["1"], "action": "tag", "tags": " , "}, "Type at least one tag."),
        ({"ids": ["1"], "action": "explode"}, "Select a valid choice"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    agent_client, mentions, data, message
):
    before = list(Mention.objects.values_list("status", "assignee", "priority"))

    response = post(agent_client, **data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(Mention.objects.values_list("status", "assignee", "priority")) == before
    assert MentionEvent.objects.count() == 0


def test_without_htmx_it_redirects_back_to_the_queue_with_a_message(
    agent_client, mentions
):
    response = agent_client.post(
        "/mentions/bulk/",
        {"ids": [mentions[0].pk], "action": "claim", "next": "/mentions/?view=mine"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/mentions/?view=mine"
    assert "Assigned to you: 1 mention." in response.content.decode()


def test_the_next_url_never_leaves_the_queue(agent_client, mentions):
    response = agent_client.post(
        "/mentions/bulk/",
        {"ids": [mentions[0].pk], "action": "claim", "next": "//evil.example/"},
    )

    assert response["Location"] == "/mentions/"
