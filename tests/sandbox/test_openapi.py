"""Every sandbox response, success and error, validates against X's own OpenAPI spec 2.166."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from mentions.sandbox import services

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared/xapi/openapi-2.166.json"
if not SPEC_PATH.exists():
    pytest.skip(f"X's OpenAPI spec is not at {SPEC_PATH}", allow_module_level=True)

SPEC_URI = "urn:x-openapi-2.166"


@pytest.fixture(scope="module")
def spec():
    return json.loads(SPEC_PATH.read_text())


@pytest.fixture(scope="module")
def registry(spec):
    return Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4)
    )


@pytest.fixture
def check(spec, registry, raw):
    """Call the sandbox and validate the body against the operation's schema for that status."""

    def call(method, path, template, token=None, *, status, **kwargs):
        response = raw(method, path, token, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        responses = spec["paths"][template][method.lower()]["responses"]
        if str(status) in responses:
            pointer = f"/paths/{template.replace('/', '~1')}/{method.lower()}/responses/{status}/content/application~1json/schema"
        else:
            pointer = f"/paths/{template.replace('/', '~1')}/{method.lower()}/responses/default/content/application~1problem+json/schema"
        validator = OAS30Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=registry,
            format_checker=OAS30Validator.FORMAT_CHECKER,
        )
        validator.validate(response.json())
        return response.json()

    return call


@pytest.fixture
def world(brand, customer):
    root = services.create_post(brand, "Known issue with deliveries #status @jane_doe")
    question = services.create_post(
        customer, "@AcmeHelp where is my order?", in_reply_to=root
    )
    services.create_post(customer, "@AcmeHelp quoting", quote_of=root)
    services.create_dm(customer, brand, "order 42 please")
    services.create_dm(brand, customer, "on it")
    return {
        "app": services.issue_app_token(),
        "user": services.issue_user_token(brand).access_token,
        "root": root,
        "question": question,
    }


FULL = {
    "tweet.fields": "author_id,created_at,conversation_id,in_reply_to_user_id,lang,referenced_tweets,entities,public_metrics,possibly_sensitive,reply_settings",
    "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id,in_reply_to_user_id,entities.mentions.username",
    "user.fields": "id,name,username,description,public_metrics,verified,profile_image_url,created_at,protected",
}
SEARCH = "/2/tweets/search/recent"


def test_search_responses_match_the_spec(check, world):
    body = check(
        "GET",
        SEARCH,
        SEARCH,
        world["app"],
        status=200,
        params={"query": "@AcmeHelp", **FULL},
    )
    assert body["includes"]["tweets"]
    check("GET", SEARCH, SEARCH, world["app"], status=200, params={"query": "nothing"})
    check(
        "GET",
        SEARCH,
        SEARCH,
        world["app"],
        status=200,
        params={"query": "@AcmeHelp", "max_results": 10},
    )
    check(
        "GET", SEARCH, SEARCH, world["app"], status=400, params={"query": "(unbalanced"}
    )
    check(
        "GET",
        SEARCH,
        SEARCH,
        world["app"],
        status=400,
        params={"query": "acme", "max_results": 5},
    )
    check("GET", SEARCH, SEARCH, "None", status=401, params={"query": "acme"})


def test_fault_responses_match_the_spec(check, world):
    for kind in (
        "partial_errors",
        "rate_limit",
        "usage_cap",
        "credits",
        "server_error",
        "unauthorized",
    ):
        services.add_fault("search", kind)
    expected = [200, 429, 429, 402, 500, 401]
    for status in expected:
        check(
            "GET",
            SEARCH,
            SEARCH,
            world["app"],
            status=status,
            params={"query": "@AcmeHelp", **FULL},
        )


def test_mentions_and_me_match_the_spec(check, world, brand):
    path = f"/2/users/{brand.x_id}/mentions"
    check(
        "GET",
        path,
        "/2/users/{id}/mentions",
        world["app"],
        status=200,
        params={"max_results": 5, **FULL},
    )
    check(
        "GET",
        "/2/users/me",
        "/2/users/me",
        world["user"],
        status=200,
        params={"user.fields": FULL["user.fields"]},
    )
    check("GET", "/2/users/me", "/2/users/me", world["app"], status=403)


def test_dm_responses_match_the_spec(check, world, customer):
    params = {
        "dm_event.fields": "id,text,event_type,created_at,sender_id,dm_conversation_id,participant_ids,entities",
        "expansions": "sender_id,participant_ids",
        "user.fields": "username,name,verified",
    }
    body = check(
        "GET", "/2/dm_events", "/2/dm_events", world["user"], status=200, params=params
    )
    conversation = body["data"][0]["dm_conversation_id"]
    check("GET", f"/2/dm_conversations/{conversation}/dm_events", "/2/dm_conversations/{id}/dm_events",
          world["user"], status=200, params=params)  # fmt: skip
    check("GET", f"/2/dm_conversations/with/{customer.x_id}/dm_events",
          "/2/dm_conversations/with/{participant_id}/dm_events", world["user"], status=200, params=params)  # fmt: skip
    with_path = "/2/dm_conversations/with/{participant_id}/messages"
    check("POST", f"/2/dm_conversations/with/{customer.x_id}/messages", with_path, world["user"], status=201,
          json={"text": "hello"})  # fmt: skip
    check("POST", f"/2/dm_conversations/{conversation}/messages", "/2/dm_conversations/{dm_conversation_id}/messages",
          world["user"], status=201, json={"text": "again"})  # fmt: skip
    closed = services.create_user("closed", "Closed", accepts_dms=False)
    check("POST", f"/2/dm_conversations/with/{closed.x_id}/messages", with_path, world["user"], status=403,
          json={"text": "hello"})  # fmt: skip


def test_create_post_responses_match_the_spec(check, world, customer):
    check(
        "POST",
        "/2/tweets",
        "/2/tweets",
        world["user"],
        status=201,
        json={"text": "hello world"},
    )
    check(
        "POST",
        "/2/tweets",
        "/2/tweets",
        world["user"],
        status=403,
        json={"text": "hello world"},
    )
    check(
        "POST",
        "/2/tweets",
        "/2/tweets",
        world["user"],
        status=400,
        json={"text": "x" * 281},
    )
    check(
        "POST", "/2/tweets", "/2/tweets", world["app"], status=403, json={"text": "app"}
    )
    passing = services.create_post(customer, "no mention")
    check("POST", "/2/tweets", "/2/tweets", world["user"], status=403,
          json={"text": "hi", "reply": {"in_reply_to_tweet_id": passing.x_id}})  # fmt: skip
    check("POST", "/2/tweets", "/2/tweets", world["user"], status=403,
          json={"text": "hi", "reply": {"in_reply_to_tweet_id": "1"}})  # fmt: skip
    check("POST", "/2/tweets", "/2/tweets", world["user"], status=201,
          json={"text": "thanks", "reply": {"in_reply_to_tweet_id": world["question"].x_id}})  # fmt: skip
