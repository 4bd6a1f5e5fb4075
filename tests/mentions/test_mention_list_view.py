"""The queue page: access, escaping, the live-update fragment and a constant query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mentions.models import Author, Mention, MentionStream, Stream, Thread, XAccount
from tests.mentions.queue_helpers import fresh_cache  # noqa: F401  (autouse)

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture
def account():
    return XAccount.objects.create(handle="Acme", x_user_id="42", access_token="token")


@pytest.fixture
def stream(account):
    return Stream.objects.create(
        account=account, kind=Stream.Kind.MENTIONS, name="@mentions"
    )


def make_mention(
    account, stream, n: int, *, text: str = "my order is late", name: str = "Jo"
) -> Mention:
    author, _ = Author.objects.get_or_create(
        x_id=str(1000 + n), defaults={"handle": f"user{n}", "name": name}
    )
    created = timezone.now() - timedelta(minutes=n)
    thread = Thread.objects.create(
        conversation_id=str(5000 + n), author=author, created_at=created
    )
    mention = Mention.objects.create(
        x_id=str(9000 + n),
        account=account,
        author=author,
        thread=thread,
        text=text,
        created_at=created,
        conversation_id=str(5000 + n),
    )
    MentionStream.objects.create(mention=mention, stream=stream)
    return mention


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get("/mentions/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("persona", ["agent", "manager", "admin_user"])
def test_every_role_sees_the_queue(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/mentions/").status_code == 200


def test_it_lists_the_longest_waiting_first_when_no_sla_or_priority_differs(
    agent_client, account, stream
):
    older = make_mention(account, stream, 5, text="older mention")
    newer = make_mention(account, stream, 1, text="newer mention")

    response = agent_client.get("/mentions/")

    assert [m.pk for m in response.context["mentions"]] == [older.pk, newer.pk]


def test_it_escapes_post_text_and_author_names(agent_client, account, stream):
    make_mention(account, stream, 1, text=PAYLOAD, name=PAYLOAD)

    content = agent_client.get("/mentions/").content.decode()

    assert "<script>window.pwned" not in content
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in content
    assert 'onerror="window' not in content


def test_the_mention_page_escapes_text_and_names(agent_client, account, stream):
    mention = make_mention(account, stream, 1, text=PAYLOAD, name=PAYLOAD)

    content = agent_client.get(f"/mentions/{mention.pk}/").content.decode()

    assert "<script>window.pwned" not in content
    assert "&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;" in content


def _since(response) -> str:
    return response.context["checked_at"]


def test_the_live_poll_answers_204_when_nothing_arrived(agent_client, account, stream):
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False):
        make_mention(account, stream, 1)
    page = agent_client.get("/mentions/")

    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        response = agent_client.get(
            f"/mentions/updates/?since={_since(page)}", headers={"HX-Request": "true"}
        )

    assert response.status_code == 204
    assert int(response["X-Queue-Checked-At"]) > int(_since(page))


def test_the_live_poll_returns_only_the_new_rows(agent_client, account, stream):
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False):
        make_mention(account, stream, 2)
    with time_machine.travel(timezone.now() - timedelta(minutes=1), tick=False):
        page = agent_client.get("/mentions/")
    make_mention(account, stream, 1, text="brand new complaint")

    response = agent_client.get(
        f"/mentions/updates/?since={_since(page)}", headers={"HX-Request": "true"}
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "brand new complaint" in content
    assert content.count('class="mention-row') == 1
    assert "<html" not in content
    assert 'id="mention-table"' not in content


def test_the_queue_query_count_does_not_grow_with_rows(
    agent_client, account, stream, django_assert_max_num_queries
):
    for n in range(3):
        make_mention(account, stream, n)
    with django_assert_max_num_queries(12) as few:
        agent_client.get("/mentions/")
    for n in range(3, 40):
        make_mention(account, stream, n)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = agent_client.get("/mentions/")

    assert len(response.context["mentions"]) == 40


def test_the_stream_list_shows_each_streams_state(agent_client, account, stream):
    Stream.objects.filter(pk=stream.pk).update(
        stopped_at=timezone.now(), last_error="X answered 401: Unauthorized"
    )

    content = agent_client.get("/mentions/streams/").content.decode()

    assert "stopped" in content
    assert "X answered 401: Unauthorized" in content


def test_the_sandbox_badge_is_visible(agent_client):
    assert "Sandbox X API" in agent_client.get("/mentions/").content.decode()


def test_the_login_page_is_public(client):
    assert client.get("/login/").status_code == 200
