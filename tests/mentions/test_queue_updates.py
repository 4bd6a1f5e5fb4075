"""The live queue's poll: only new and changed rows since the cursor, and rows that left the view."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mentions import queue, triage
from mentions.models import Mention
from tests.mentions.queue_helpers import (
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return make_account()


@pytest.fixture
def old(account):
    """Two mentions last touched ten minutes ago and a queue page rendered five minutes ago."""
    with time_machine.travel(timezone.now() - timedelta(minutes=10), tick=False):
        return [make_mention(account, text=f"old {n}") for n in range(2)]


def poll(client, since, query=""):
    return client.get(
        f"/mentions/updates/?since={since}{query}", headers={"HX-Request": "true"}
    )


def five_minutes_ago() -> int:
    return queue.to_micros(timezone.now() - timedelta(minutes=5))


def test_anonymous_users_cannot_poll(client):
    assert poll(client, five_minutes_ago()).status_code == 302


def test_the_poll_needs_its_cursor(agent_client):
    response = agent_client.get("/mentions/updates/")

    assert response.status_code == 400


def test_a_mention_changed_by_another_agent_comes_back_with_its_new_state(
    agent_client, manager, old
):
    triage.set_priority(
        old[0], Mention.Priority.URGENT, actor=manager, now=timezone.now()
    )

    response = poll(agent_client, five_minutes_ago())

    content = response.content.decode()
    assert response.status_code == 200
    assert f'id="mention-{old[0].pk}"' in content
    assert "Urgent" in content
    assert f'id="mention-{old[1].pk}"' not in content
    assert response["X-Queue-Removed"] == ""


def test_a_row_that_no_longer_matches_the_view_is_listed_as_removed(
    agent_client, manager, old
):
    triage.set_status(
        old[1], Mention.Status.RESOLVED, actor=manager, now=timezone.now()
    )

    response = poll(agent_client, five_minutes_ago())

    assert response["X-Queue-Removed"] == str(old[1].pk)
    assert 'class="mention-row' not in response.content.decode()


def test_the_poll_applies_the_same_filters_as_the_page(agent_client, account, old):
    make_mention(account, text="refund please")
    make_mention(account, text="just saying hi")

    content = poll(agent_client, five_minutes_ago(), "&q=refund").content.decode()

    assert "refund please" in content
    assert "just saying hi" not in content


def test_the_next_cursor_is_the_time_of_this_poll(agent_client, old):
    with time_machine.travel(timezone.now(), tick=False) as frozen:
        now = timezone.now()
        response = poll(agent_client, five_minutes_ago())
        frozen.shift(1)

    assert response.status_code == 204
    assert int(response["X-Queue-Checked-At"]) == queue.to_micros(now)


def test_a_change_committed_just_before_the_cursor_is_still_seen(agent_client, old):
    """A transaction that started before the last poll may commit after it: the overlap catches it."""
    cursor = timezone.now()
    Mention.objects.filter(pk=old[0].pk).update(
        updated_at=cursor - timedelta(seconds=5), priority=4
    )

    content = poll(agent_client, queue.to_micros(cursor)).content.decode()

    assert f'id="mention-{old[0].pk}"' in content


def test_too_many_changes_at_once_ask_the_browser_to_reload_the_table(
    agent_client, account, old, monkeypatch
):
    monkeypatch.setattr(queue, "LIVE_MAX_ROWS", 3)
    for n in range(3):
        make_mention(account, text=f"burst {n}")

    response = poll(agent_client, five_minutes_ago())

    assert response.status_code == 204
    assert response["X-Queue-Reload"] == "1"
