from __future__ import annotations

import threading
import time

import pytest
import requests
import tweepy
from django.utils import timezone

from mentions.sandbox import services
from mentions.sandbox.models import SandboxFault

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


def test_it_answers_bearer_none_with_401(raw, transactional_db):
    response = raw("GET", "/2/tweets/search/recent", "None", params={"query": "acme"})

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["x-rate-limit-reset"].isdigit()


def test_it_raises_unauthorized_in_tweepy_for_an_unknown_token(
    client_for, transactional_db
):
    with pytest.raises(tweepy.Unauthorized):
        client_for("not-a-token").search_recent_tweets("acme")


def test_it_rejects_an_expired_user_token(client_for, brand):
    client = client_for(services.issue_user_token(brand, expires_in=-1).access_token)

    with pytest.raises(tweepy.Unauthorized):
        client.get_me(user_auth=False)


def test_it_refuses_app_only_tokens_on_user_context_endpoints(raw, transactional_db):
    token = services.issue_app_token()

    for method, path in [
        ("GET", "/2/users/me"),
        ("GET", "/2/dm_events"),
        ("POST", "/2/tweets"),
    ]:
        response = raw(method, path, token, json={"text": "hi"})
        assert response.status_code == 403
        assert (
            response.json()["type"]
            == "https://api.twitter.com/2/problems/unsupported-authentication"
        )


def test_it_enforces_scopes(client_for, brand, customer):
    client = client_for(
        services.issue_user_token(brand, scopes="tweet.read users.read").access_token
    )

    assert client.get_me(user_auth=False).data.username == "AcmeHelp"
    with pytest.raises(tweepy.Forbidden, match=r"tweet\.write"):
        client.create_tweet(text="hello", user_auth=False)
    with pytest.raises(tweepy.Forbidden, match=r"dm\.read"):
        client.get_direct_message_events(user_auth=False)


def test_it_accepts_oauth1_user_context(client_for, brand):
    consumer_key, access_token = services.issue_oauth1_credentials(brand)
    client = client_for(
        consumer_key=consumer_key,
        consumer_secret="any",
        access_token=access_token,
        access_token_secret="any",
    )

    me = client.get_me(user_fields=["verified", "public_metrics"])

    assert me.data.username == "AcmeHelp"
    assert me.data.verified is True
    assert (
        client.create_tweet(text="Posted with OAuth 1.0a").data["text"]
        == "Posted with OAuth 1.0a"
    )


def test_it_rejects_oauth1_with_an_unknown_consumer_key(client_for, brand):
    _, access_token = services.issue_oauth1_credentials(brand)
    client = client_for(
        consumer_key="wrong",
        consumer_secret="x",
        access_token=access_token,
        access_token_secret="x",
    )

    with pytest.raises(tweepy.Unauthorized):
        client.get_me()


def test_it_sends_rate_limit_and_version_headers(raw, transactional_db):
    token = services.issue_app_token()

    first = raw("GET", "/2/tweets/search/recent", token, params={"query": "acme"})
    second = raw("GET", "/2/tweets/search/recent", token, params={"query": "acme"})

    assert first.headers["x-rate-limit-limit"] == "450"
    assert (
        int(first.headers["x-rate-limit-remaining"])
        - int(second.headers["x-rate-limit-remaining"])
        == 1
    )
    assert int(first.headers["x-rate-limit-reset"]) > time.time() + 800
    assert first.headers["api-version"]
    assert first.headers["x-access-level"] == "read"


def test_it_uses_the_user_limit_for_user_tokens(raw, brand):
    response = raw(
        "GET",
        "/2/tweets/search/recent",
        services.issue_user_token(brand).access_token,
        params={"query": "a"},
    )

    assert response.headers["x-rate-limit-limit"] == "300"
    assert response.headers["x-access-level"] == "read-write-directmessages"


def test_it_answers_429_with_reset_when_the_window_is_spent(
    app_client, raw, transactional_db
):
    services.set_rate_limit("search", 2, 60)
    app_client.search_recent_tweets("acme")
    app_client.search_recent_tweets("acme")

    with pytest.raises(tweepy.TooManyRequests) as caught:
        app_client.search_recent_tweets("acme")

    assert caught.value.response.json() == {
        "title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests",
    }  # fmt: skip
    assert caught.value.response.headers["x-rate-limit-remaining"] == "0"
    assert 0 < caught.value.reset_time - time.time() <= 61
    services.reset_rate_limits()
    assert app_client.search_recent_tweets("acme").meta == {"result_count": 0}


@pytest.mark.postgres  # SQLite's shared-cache test database raises "table is locked" instead of waiting
def test_it_counts_concurrent_calls_exactly(api_base, transactional_db):
    services.set_rate_limit("search", 5, 60)
    token = services.issue_app_token()
    statuses = []

    def call():
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                f"{api_base}/2/tweets/search/recent",
                params={"query": "acme"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] * 5 + [429] * 3


def test_it_injects_a_rate_limit_fault_after_normal_calls(app_client, transactional_db):
    services.add_fault("search", "rate_limit", count=1, after=1, reset_in_seconds=30)

    app_client.search_recent_tweets("acme")
    with pytest.raises(tweepy.TooManyRequests) as caught:
        app_client.search_recent_tweets("acme")
    app_client.search_recent_tweets("acme")

    assert 25 <= caught.value.reset_time - time.time() <= 31


def test_it_injects_a_usage_cap(app_client, transactional_db):
    services.add_fault("search", "usage_cap")

    with pytest.raises(tweepy.TooManyRequests) as caught:
        app_client.search_recent_tweets("acme")

    assert caught.value.response.json()["title"] == "UsageCapExceeded"


def test_it_injects_depleted_credits_as_402(app_client, transactional_db):
    services.add_fault("*", "credits")

    with pytest.raises(tweepy.HTTPException) as caught:
        app_client.search_recent_tweets("acme")

    assert caught.value.response.status_code == 402
    assert (
        caught.value.response.json()["type"]
        == "https://api.twitter.com/2/problems/credits"
    )


def test_it_injects_server_errors_for_count_calls(app_client, transactional_db):
    services.add_fault("search", "server_error", count=2)

    for _ in range(2):
        with pytest.raises(tweepy.TwitterServerError):
            app_client.search_recent_tweets("acme")
    assert app_client.search_recent_tweets("acme").meta["result_count"] == 0
    assert SandboxFault.objects.get().remaining == 0


def test_it_injects_a_slow_response_that_trips_client_timeouts(mount, transactional_db):
    services.add_fault("users_me", "slow", delay_seconds=0.6)
    brand = services.create_user("slowbrand", "Slow")
    client = tweepy.Client(bearer_token=services.issue_user_token(brand).access_token)
    mount(client.session, timeout=0.2)

    with pytest.raises(requests.exceptions.ReadTimeout):
        client.get_me(user_auth=False)
    # Let the abandoned request finish before the test database is flushed under it.
    time.sleep(0.6)


def test_it_injects_unauthorized(brand_client, transactional_db):
    services.add_fault("create_dm", "unauthorized")

    with pytest.raises(tweepy.Unauthorized):
        brand_client.create_direct_message(
            participant_id="1", text="x", user_auth=False
        )


def test_it_injects_partial_errors_and_hides_a_referenced_post(
    app_client, brand, customer
):
    root = services.create_post(brand, "status update")
    services.create_post(customer, "@AcmeHelp what about me", in_reply_to=root)
    services.add_fault("search", "partial_errors")

    response = app_client.search_recent_tweets(
        "@AcmeHelp", expansions=["referenced_tweets.id"]
    )

    assert response.data[0].text == "@AcmeHelp what about me"
    assert (
        response.errors[0]["type"]
        == "https://api.twitter.com/2/problems/not-authorized-for-resource"
    )
    assert response.errors[0]["resource_id"] == str(root.id)
    assert "tweets" not in response.includes


def test_it_reports_deleted_referenced_posts_as_not_found(app_client, brand, customer):
    root = services.create_post(brand, "status update")
    services.create_post(customer, "@AcmeHelp hi", in_reply_to=root)
    services.delete_post(root)

    response = app_client.search_recent_tweets(
        "@AcmeHelp", expansions=["referenced_tweets.id"]
    )

    assert response.errors[0]["title"] == "Not Found Error"


@pytest.mark.postgres  # SQLite's shared-cache test database raises "table is locked" instead of waiting
def test_it_lets_exactly_count_concurrent_callers_hit_a_fault(transactional_db):
    from mentions.sandbox import faults

    services.add_fault("search", "server_error", count=3)
    claimed = []

    def claim():
        from django.db import connection

        claimed.append(faults.claim("search") is not None)
        connection.close()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == [False] * 3 + [True] * 3


def test_it_rejects_unknown_fault_kinds_and_endpoints(transactional_db):
    with pytest.raises(ValueError, match="Unknown fault kind"):
        services.add_fault("search", "meteor")
    with pytest.raises(ValueError, match="Unknown endpoint"):
        services.add_fault("timeline", "slow")


def test_it_issues_strictly_increasing_ids(brand):
    now = timezone.now()
    posts = [services.create_post(brand, f"n {i}", created_at=now) for i in range(5)]

    assert [p.id for p in posts] == sorted({p.id for p in posts})
