from __future__ import annotations

import pytest
import tweepy

from mentions.sandbox import services
from mentions.sandbox.models import SandboxPost

NOT_SUMMONED = (
    "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged "
    "by the author of the post you are replying to."
)


def test_it_creates_a_reply_to_a_post_that_mentions_the_brand(
    brand_client, brand, customer, raw
):
    question = services.create_post(customer, "@AcmeHelp where is my order?")

    response = brand_client.create_tweet(
        text="@jane_doe Sorry! DM us.",
        in_reply_to_tweet_id=question.id,
        user_auth=False,
    )

    post = SandboxPost.objects.get(id=int(response.data["id"]))
    assert response.data == {
        "id": post.x_id,
        "text": "@jane_doe Sorry! DM us.",
        "edit_history_tweet_ids": [post.x_id],
    }
    assert post.in_reply_to_id == question.id
    assert post.conversation_id == question.id
    assert post.in_reply_to_user == customer


def test_it_answers_201_with_location_and_quota_headers(raw, brand):
    token = services.issue_user_token(brand).access_token

    response = raw(
        "POST", "/2/tweets", token, json={"text": "Service update: all good"}
    )

    assert response.status_code == 201
    post_id = response.json()["data"]["id"]
    assert response.headers["Location"] == f"https://api.twitter.com/2/tweets/{post_id}"
    for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"):
        assert response.headers[f"{prefix}-limit"].isdigit()
        assert response.headers[f"{prefix}-remaining"].isdigit()
        assert response.headers[f"{prefix}-reset"].isdigit()


def test_it_refuses_text_longer_than_280_weighted_characters(brand_client):
    with pytest.raises(tweepy.BadRequest, match="Your Tweet text is too long"):
        brand_client.create_tweet(
            text="ありがとう" * 29, user_auth=False
        )  # 145 CJK chars weigh 290


def test_it_accepts_280_weighted_characters(brand_client):
    assert brand_client.create_tweet(text="a" * 280, user_auth=False).data["id"]


def test_it_refuses_duplicate_text_from_the_same_user(brand_client):
    brand_client.create_tweet(text="We are back up.", user_auth=False)

    with pytest.raises(
        tweepy.Forbidden,
        match=r"You are not allowed to create a Tweet with duplicate content\.",
    ):
        brand_client.create_tweet(text="We are back up.", user_auth=False)


def test_it_refuses_a_reply_when_the_author_did_not_summon_the_brand(
    brand_client, customer
):
    passing = services.create_post(customer, "acme is so slow today")

    with pytest.raises(tweepy.Forbidden) as caught:
        brand_client.create_tweet(
            text="Sorry to hear that", in_reply_to_tweet_id=passing.id, user_auth=False
        )

    assert caught.value.api_messages == [NOT_SUMMONED]


def test_it_allows_replies_to_a_customer_who_replied_to_the_brand(
    brand_client, brand, customer
):
    ours = services.create_post(brand, "We are investigating.")
    theirs = services.create_post(customer, "thanks, any update?", in_reply_to=ours)

    assert brand_client.create_tweet(
        text="Fixed now!", in_reply_to_tweet_id=theirs.id, user_auth=False
    ).data


def test_it_allows_replies_to_a_post_quoting_the_brand(brand_client, brand, customer):
    ours = services.create_post(brand, "New app version out")
    quote = services.create_post(customer, "it crashes on start", quote_of=ours)

    assert brand_client.create_tweet(
        text="Sorry, DM us", in_reply_to_tweet_id=quote.id, user_auth=False
    ).data


def test_it_refuses_a_reply_to_a_deleted_post(brand_client, customer):
    gone = services.create_post(customer, "@AcmeHelp help")
    services.delete_post(gone)

    with pytest.raises(tweepy.Forbidden, match="deleted or not visible"):
        brand_client.create_tweet(
            text="Hello", in_reply_to_tweet_id=gone.id, user_auth=False
        )


def test_it_refuses_a_reply_to_an_unknown_post(brand_client):
    with pytest.raises(tweepy.Forbidden, match="deleted or not visible"):
        brand_client.create_tweet(
            text="Hello", in_reply_to_tweet_id=12345, user_auth=False
        )


def test_it_keeps_the_conversation_of_the_root(brand, customer):
    root = services.create_post(customer, "@AcmeHelp #outage app down")
    reply = services.create_post(brand, "@jane_doe on it", in_reply_to=root)
    again = services.create_post(customer, "@AcmeHelp still down", in_reply_to=reply)

    assert again.conversation_id == root.id
    assert [p.id for p in services.thread_for(again)] == [root.id, reply.id, again.id]
    assert root.hashtags == " outage "
