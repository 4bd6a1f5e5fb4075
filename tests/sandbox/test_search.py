from __future__ import annotations

from datetime import timedelta

import tweepy
from django.utils import timezone

from mentions.sandbox import services


def test_it_returns_matching_posts_with_x_formats(app_client, brand, customer):
    post = services.create_post(customer, "@AcmeHelp my order never arrived")
    services.create_post(customer, "unrelated chatter")

    response = app_client.search_recent_tweets(
        "@AcmeHelp",
        tweet_fields=["created_at", "author_id", "lang", "conversation_id"],
        expansions=["author_id"],
        user_fields=["public_metrics", "verified"],
    )

    assert [t.id for t in response.data] == [post.id]
    tweet = response.data[0]
    assert tweet.edit_history_tweet_ids == [post.id]
    assert tweet.created_at is not None
    assert tweet.lang == "en"
    assert response.includes["users"][0].username == "jane_doe"
    assert response.includes["users"][0].public_metrics["followers_count"] == 120
    assert response.meta == {
        "newest_id": str(post.id),
        "oldest_id": str(post.id),
        "result_count": 1,
    }


def test_it_returns_newest_first_across_pages(app_client, customer):
    now = timezone.now()
    posts = [
        services.create_post(
            customer, f"acme order {i}", created_at=now - timedelta(hours=30 - i)
        )
        for i in range(25)
    ]
    seen = []
    for page in tweepy.Paginator(
        app_client.search_recent_tweets, "acme", max_results=10
    ):
        seen.extend(t.id for t in page.data)

    assert seen == [p.id for p in reversed(posts)]
