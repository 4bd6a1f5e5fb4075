"""Presence: who else is viewing or typing on a mention (heartbeats in the cache)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from mentions import presence
from tests.mentions.queue_helpers import (
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mention():
    return make_mention(make_account())


def test_an_agent_sees_the_others_but_not_themselves(mention, agent, manager):
    now = timezone.now()
    presence.heartbeat(mention.pk, agent, "viewing", now=now)
    presence.heartbeat(mention.pk, manager, "viewing", now=now)

    assert presence.others(mention.pk, agent, now=now) == [
        presence.Presence(user_id=manager.pk, name="Bob", state="viewing")
    ]


def test_typing_lasts_a_few_seconds_after_the_last_keystroke(mention, agent, manager):
    now = timezone.now()
    presence.heartbeat(mention.pk, manager, "typing", now=now)
    presence.heartbeat(mention.pk, manager, "viewing", now=now + timedelta(seconds=2))

    assert (
        presence.others(mention.pk, agent, now=now + timedelta(seconds=3))[0].state
        == "typing"
    )
    later = now + timedelta(seconds=presence.TYPING_SECONDS + 1)
    assert presence.others(mention.pk, agent, now=later)[0].state == "viewing"


def test_an_agent_who_stops_sending_heartbeats_disappears(
    mention, agent, manager, settings
):
    now = timezone.now()
    presence.heartbeat(mention.pk, manager, "viewing", now=now)

    later = now + timedelta(seconds=settings.PRESENCE_TTL_SECONDS + 1)
    assert presence.others(mention.pk, agent, now=later) == []


def test_presence_is_per_mention(agent, manager):
    account = make_account()
    a, b = make_mention(account), make_mention(account)
    presence.heartbeat(a.pk, manager, "viewing", now=timezone.now())

    assert presence.others(b.pk, agent, now=timezone.now()) == []


def test_the_endpoint_records_a_heartbeat_and_answers_the_fragment(
    client, agent, manager, mention
):
    client.force_login(manager)
    client.post(f"/mentions/{mention.pk}/presence/", {"state": "typing"})
    client.force_login(agent)

    response = client.post(
        f"/mentions/{mention.pk}/presence/",
        {"state": "viewing"},
        headers={"HX-Request": "true"},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert content.strip().startswith('<div id="presence"')
    assert "Bob is typing" in content
    assert "Alice" not in content


def test_the_endpoint_refuses_an_unknown_state(agent_client, mention):
    response = agent_client.post(
        f"/mentions/{mention.pk}/presence/", {"state": "dancing"}
    )

    assert response.status_code == 400


def test_anonymous_users_and_users_without_a_role_are_refused(client, mention):
    assert (
        client.post(
            f"/mentions/{mention.pk}/presence/", {"state": "viewing"}
        ).status_code
        == 302
    )
    client.force_login(User.objects.create_user("mallory", password="x"))
    assert (
        client.post(
            f"/mentions/{mention.pk}/presence/", {"state": "viewing"}
        ).status_code
        == 403
    )


def test_the_workspace_sends_its_first_heartbeat_as_soon_as_it_loads(
    agent_client, mention
):
    content = agent_client.get(f"/mentions/{mention.pk}/").content.decode()

    assert f'hx-post="/mentions/{mention.pk}/presence/"' in content
    assert 'hx-trigger="load, every 5s, presence:typing from:body"' in content
