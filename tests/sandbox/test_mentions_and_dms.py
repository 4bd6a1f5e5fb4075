from __future__ import annotations

from datetime import timedelta

import pytest
import tweepy
from django.utils import timezone

from mentions.sandbox import services
from mentions.sandbox.models import SandboxPost
from mentions.sandbox.serialize import format_time


def test_it_lists_mentions_newest_first_with_pagination_token(
    app_client, brand, customer
):
    posts = [
        services.create_post(customer, f"@AcmeHelp question {i}") for i in range(12)
    ]
    services.create_post(customer, "no mention here")

    pages = list(
        tweepy.Paginator(app_client.get_users_mentions, brand.x_id, max_results=5)
    )

    assert [t.id for page in pages for t in page.data] == [
        p.id for p in reversed(posts)
    ]
    assert len(pages) == 3


def test_it_reaches_only_the_newest_800_mentions(app_client, brand, customer):
    now = timezone.now()
    SandboxPost.objects.bulk_create(
        SandboxPost(
            id=(
                int((now - timedelta(minutes=900 - i)).timestamp() * 1000)
                - 1288834974657
            )
            << 22,
            author=customer,
            text=f"@AcmeHelp number {i}",
            created_at=now - timedelta(minutes=900 - i),
            conversation_id=i + 1,
            mention_usernames=" acmehelp ",
        )
        for i in range(805)
    )
    oldest = SandboxPost.objects.order_by("id").first()

    response = app_client.get_users_mentions(
        brand.x_id, since_id=oldest.id - 1, max_results=100
    )
    ids = []
    for page in tweepy.Paginator(
        app_client.get_users_mentions,
        brand.x_id,
        since_id=oldest.id - 1,
        max_results=100,
    ):
        ids.extend(t.id for t in page.data)

    assert response.meta["result_count"] == 100
    assert len(ids) == 800
    assert min(ids) == SandboxPost.objects.order_by("-id")[799].id


def test_it_rejects_mentions_max_results_below_five(app_client, brand):
    with pytest.raises(tweepy.BadRequest, match="is not between 5 and 100"):
        app_client.get_users_mentions(brand.x_id, max_results=4)


def test_it_lists_sent_and_received_dms_newest_first(brand_client, brand, customer):
    first = services.create_dm(customer, brand, "my order 123 is missing")
    second = services.create_dm(brand, customer, "sorry! checking")
    services.create_dm(
        customer, services.create_user("other", "Other"), "not for the brand"
    )

    response = brand_client.get_direct_message_events(
        dm_event_fields=[
            "id",
            "text",
            "event_type",
            "created_at",
            "sender_id",
            "dm_conversation_id",
        ],
        expansions=["sender_id"],
        user_fields=["username", "name"],
        user_auth=False,
    )

    assert [e.id for e in response.data] == [second.id, first.id]
    assert response.data[1].sender_id == int(customer.x_id)
    low, high = sorted([int(brand.x_id), int(customer.x_id)])
    assert response.data[1].dm_conversation_id == f"{low}-{high}"
    assert {u.username for u in response.includes["users"]} == {"AcmeHelp", "jane_doe"}
    assert response.meta == {"result_count": 2}


def test_it_pages_dms_and_serves_the_conversation_variants(
    brand_client, brand, customer
):
    events = [services.create_dm(customer, brand, f"msg {i}") for i in range(5)]

    pages = list(
        tweepy.Paginator(
            brand_client.get_direct_message_events, max_results=2, user_auth=False
        )
    )
    by_participant = brand_client.get_direct_message_events(
        participant_id=customer.x_id, user_auth=False
    )
    by_conversation = brand_client.get_direct_message_events(
        dm_conversation_id=events[0].dm_conversation_id, user_auth=False
    )

    assert [e.id for page in pages for e in page.data] == [
        e.id for e in reversed(events)
    ]
    assert len(by_participant.data) == len(by_conversation.data) == 5


def test_it_hides_dms_older_than_thirty_days(brand_client, brand, customer):
    services.create_dm(
        customer, brand, "ancient", created_at=timezone.now() - timedelta(days=31)
    )

    assert brand_client.get_direct_message_events(user_auth=False).data is None


def test_it_sends_a_dm_and_returns_the_conversation_id(
    brand_client, brand, customer, raw
):
    response = brand_client.create_direct_message(
        participant_id=customer.x_id, text="Hi Jane", user_auth=False
    )

    conversation_id = response.data["dm_conversation_id"]
    followup = brand_client.create_direct_message(
        dm_conversation_id=conversation_id, text="Following up", user_auth=False
    )
    assert followup.data["dm_conversation_id"] == conversation_id
    assert [e.text for e in services.dm_thread(brand, customer)] == [
        "Hi Jane",
        "Following up",
    ]


def test_it_refuses_a_dm_to_a_closed_inbox(brand_client):
    closed = services.create_user("private_pat", "Pat", accepts_dms=False)

    with pytest.raises(
        tweepy.Forbidden, match=r"You cannot send messages to this user\."
    ):
        brand_client.create_direct_message(
            participant_id=closed.x_id, text="hello", user_auth=False
        )


def test_it_refuses_an_overlong_dm(brand_client, customer):
    with pytest.raises(tweepy.BadRequest):
        brand_client.create_direct_message(
            participant_id=customer.x_id, text="x" * 10_001, user_auth=False
        )


def test_it_formats_times_with_milliseconds():
    from datetime import UTC, datetime

    assert (
        format_time(datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
        == "2025-01-02T03:04:05.678Z"
    )
    assert (
        format_time(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
        == "2025-01-02T03:04:05.000Z"
    )
