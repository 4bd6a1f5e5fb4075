from __future__ import annotations

from datetime import timedelta

import pytest
import tweepy
from django.utils import timezone

from mentions.sandbox import ids as ids_module
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


@pytest.fixture
def history(customer, brand):
    """30 posts spread over the last 6 days, oldest first."""
    now = timezone.now()
    return [
        services.create_post(
            customer, f"acme order {i}", created_at=now - timedelta(hours=144 - i * 4)
        )
        for i in range(30)
    ]


def test_it_gives_backdated_posts_ids_that_match_their_time(history):
    ids = [p.id for p in history]
    assert ids == sorted(ids)
    for post in history:
        assert (
            abs((ids_module.snowflake_time(post.id) - post.created_at).total_seconds())
            < 0.002
        )


def test_it_treats_since_id_and_until_id_as_exclusive(app_client, history):
    response = app_client.search_recent_tweets(
        "acme", since_id=history[10].id, until_id=history[20].id, max_results=100
    )

    assert [t.id for t in response.data] == [p.id for p in reversed(history[11:20])]


def test_it_prefers_since_id_over_start_time(app_client, history):
    response = app_client.search_recent_tweets(
        "acme",
        since_id=history[25].id,
        start_time=timezone.now() - timedelta(days=6, hours=12),
        max_results=10,
    )

    assert [t.id for t in response.data] == [p.id for p in reversed(history[26:])]


def test_it_filters_by_start_and_end_time(app_client, history):
    response = app_client.search_recent_tweets(
        "acme",
        start_time=history[5].created_at,
        end_time=history[8].created_at,
        max_results=10,
    )

    assert [t.id for t in response.data] == [
        history[7].id,
        history[6].id,
        history[5].id,
    ]


def test_it_returns_the_same_page_for_a_reused_next_token(app_client, raw, history):
    first = app_client.search_recent_tweets("acme", max_results=10)
    token = first.meta["next_token"]

    again = app_client.search_recent_tweets("acme", max_results=10, next_token=token)
    once_more = raw(
        "GET",
        "/2/tweets/search/recent",
        services.issue_app_token(),
        params={"query": "acme", "max_results": 10, "pagination_token": token},
    ).json()

    assert [t.id for t in again.data] == [p.id for p in reversed(history[10:20])]
    assert [d["id"] for d in once_more["data"]] == [str(t.id) for t in again.data]


def test_it_omits_next_token_on_the_last_page(app_client, history):
    response = app_client.search_recent_tweets("acme", max_results=100)

    assert response.meta["result_count"] == 30
    assert "next_token" not in response.meta


def test_it_omits_data_when_nothing_matches(raw, transactional_db):
    token = services.issue_app_token()

    response = raw(
        "GET", "/2/tweets/search/recent", token, params={"query": "nothing-here"}
    )

    assert response.status_code == 200
    assert response.json() == {"meta": {"result_count": 0}}
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_it_ignores_posts_older_than_seven_days(app_client, customer):
    services.create_post(
        customer, "acme ancient", created_at=timezone.now() - timedelta(days=8)
    )

    assert app_client.search_recent_tweets("acme").data is None


@pytest.mark.parametrize("max_results", [9, 101])
def test_it_rejects_max_results_out_of_range(app_client, max_results):
    with pytest.raises(tweepy.BadRequest) as caught:
        app_client.search_recent_tweets("acme", max_results=max_results)

    assert f"[{max_results}] is not between 10 and 100" in str(caught.value)


@pytest.mark.parametrize(
    "bad_query",
    [
        "(acme OR help",
        '"acme help',
        "lang:en",
        "-acme",
        "-(acme OR help)",
        "is:reply -from:acme",
        "x" * 513,
    ],
)
def test_it_rejects_malformed_queries_with_invalid_request(
    raw, transactional_db, bad_query
):
    response = raw(
        "GET",
        "/2/tweets/search/recent",
        services.issue_app_token(),
        params={"query": bad_query},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["errors"][0]["message"].startswith(
        "There were errors processing your request"
    )
    assert body["errors"][0]["parameters"] == {"query": [bad_query]}


def test_it_supports_the_query_operators(app_client, brand, customer):
    other = services.create_user("pierre", "Pierre", verified=True)
    root = services.create_post(brand, "Our #status page shows a delivery delay")
    mention = services.create_post(customer, "@AcmeHelp my order is late")
    reply = services.create_post(customer, "@AcmeHelp still waiting", in_reply_to=root)
    french = services.create_post(
        other, "Ma commande est en retard, Café fermé", lang="fr"
    )
    quote = services.create_post(other, "look at this", quote_of=root)

    def ids(q):
        data = app_client.search_recent_tweets(q, max_results=100).data or []
        return {t.id for t in data}

    assert ids("@acmehelp") == {mention.id, reply.id}
    assert ids("@AcmeHelp -is:reply") == {mention.id}
    assert ids("@AcmeHelp is:reply") == {reply.id}
    assert ids("from:pierre is:quote") == {quote.id}
    assert ids("to:AcmeHelp") == {reply.id}
    assert ids("commande lang:fr") == {french.id}
    assert ids("cafe") == {french.id}
    assert ids('"delivery delay"') == {root.id}
    assert ids('"delay delivery"') == set()
    assert ids("#STATUS") == {root.id}
    assert ids(f"conversation_id:{root.id}") == {root.id, reply.id}
    assert ids("(late OR waiting) -from:pierre") == {mention.id, reply.id}
    assert ids("order late OR retard") == {mention.id, french.id}
    assert ids("is:verified from:pierre") == {french.id, quote.id}
    assert ids("lat") == set()


def test_it_accepts_post_fields_as_an_alias_of_tweet_fields(raw, customer):
    services.create_post(customer, "acme hello", lang="de")

    response = raw(
        "GET",
        "/2/tweets/search/recent",
        services.issue_app_token(),
        params={"query": "acme", "post.fields": "lang"},
    )

    assert response.json()["data"][0]["lang"] == "de"


def test_it_expands_referenced_tweets_and_mentioned_users(app_client, brand, customer):
    root = services.create_post(brand, "We are on it @jane_doe")
    reply = services.create_post(customer, "@AcmeHelp thanks", in_reply_to=root)

    response = app_client.search_recent_tweets(
        "thanks",
        expansions=["referenced_tweets.id", "referenced_tweets.id.author_id", "in_reply_to_user_id",
                    "entities.mentions.username"],
        tweet_fields=["referenced_tweets", "in_reply_to_user_id", "entities", "created_at"],
    )  # fmt: skip

    tweet = response.data[0]
    assert tweet.id == reply.id
    assert tweet.referenced_tweets[0].type == "replied_to"
    assert tweet.in_reply_to_user_id == int(brand.x_id)
    assert tweet.entities["mentions"][0] == {
        "start": 0,
        "end": 9,
        "username": "AcmeHelp",
        "id": brand.x_id,
    }
    assert [t.id for t in response.includes["tweets"]] == [root.id]
    assert {u.username for u in response.includes["users"]} == {"AcmeHelp"}
