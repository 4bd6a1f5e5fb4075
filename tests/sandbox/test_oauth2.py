from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import tweepy
from django.urls import reverse

from mentions.sandbox import services

REDIRECT_URI = "https://earshot.example/accounts/x/callback"
SCOPES = [
    "tweet.read",
    "users.read",
    "tweet.write",
    "dm.read",
    "dm.write",
    "offline.access",
]


def _approve(agent_client, authorization_url: str) -> str:
    """Play the brand owner on the consent page; return the callback URL X would redirect to."""
    query = urlsplit(authorization_url).query
    response = agent_client.post(
        f"{reverse('xsandbox_api:oauth2-authorize')}?{query}", {"username": "AcmeHelp"}
    )
    assert response.status_code == 302
    return response.url


@pytest.fixture
def confidential_client(transactional_db):
    return services.create_oauth_client("earshot-app", "s3cret", [REDIRECT_URI])


def test_it_exchanges_a_pkce_code_and_refreshes_with_rotation(
    agent_client, mount, client_for, brand, confidential_client
):
    handler = tweepy.OAuth2UserHandler(
        client_id="earshot-app",
        redirect_uri=REDIRECT_URI,
        scope=SCOPES,
        client_secret="s3cret",
    )
    mount(handler)
    authorization_url = handler.get_authorization_url()
    callback = _approve(agent_client, authorization_url)
    assert (
        parse_qs(urlsplit(callback).query)["state"]
        == parse_qs(urlsplit(authorization_url).query)["state"]
    )

    token = handler.fetch_token(callback)

    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 7200
    assert token["scope"] == SCOPES  # oauthlib splits the echoed scope string
    me = client_for(token["access_token"]).get_me(user_auth=False)
    assert me.data.username == "AcmeHelp"

    refreshed = handler.refresh_token(
        "https://api.twitter.com/2/oauth2/token", refresh_token=token["refresh_token"]
    )

    assert refreshed["refresh_token"] != token["refresh_token"]
    assert (
        client_for(refreshed["access_token"]).get_me(user_auth=False).data.username
        == "AcmeHelp"
    )
    with pytest.raises(tweepy.Unauthorized):
        client_for(token["access_token"]).get_me(user_auth=False)
    with pytest.raises(Exception, match="invalid"):
        handler.refresh_token(
            "https://api.twitter.com/2/oauth2/token",
            refresh_token=token["refresh_token"],
        )


def test_it_supports_public_clients_and_omits_refresh_without_offline_access(
    agent_client, mount, brand
):
    services.create_oauth_client("public-app", "", [REDIRECT_URI])
    handler = tweepy.OAuth2UserHandler(
        client_id="public-app",
        redirect_uri=REDIRECT_URI,
        scope=["tweet.read", "users.read"],
    )
    mount(handler)

    token = handler.fetch_token(_approve(agent_client, handler.get_authorization_url()))

    assert token["scope"] == ["tweet.read", "users.read"]
    assert "refresh_token" not in token


def test_it_rejects_a_wrong_code_verifier_and_code_reuse(
    raw, brand, confidential_client
):
    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    code = services.create_authorization_code(
        confidential_client,
        brand,
        redirect_uri=REDIRECT_URI,
        scope="tweet.read users.read",
        code_challenge=challenge,
    )
    basic = base64.b64encode(b"earshot-app:s3cret").decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": "earshot-app",
    }

    wrong = raw(
        "POST",
        "/2/oauth2/token",
        data=form | {"code_verifier": "w" * 64},
        headers={"Authorization": f"Basic {basic}"},
    )
    right = raw(
        "POST",
        "/2/oauth2/token",
        data=form | {"code_verifier": verifier},
        headers={"Authorization": f"Basic {basic}"},
    )
    again = raw(
        "POST",
        "/2/oauth2/token",
        data=form | {"code_verifier": verifier},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_request"
    assert right.status_code == 200
    assert right.json()["scope"] == "tweet.read users.read"
    assert again.status_code == 400


def test_it_rejects_a_bad_client_secret(raw, confidential_client):
    basic = base64.b64encode(b"earshot-app:wrong").decode()

    response = raw("POST", "/2/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": "x"},
                   headers={"Authorization": f"Basic {basic}"})  # fmt: skip

    assert response.status_code == 401


def test_it_revokes_a_token(raw, client_for, brand, confidential_client):
    issued = services.issue_user_token(brand, client=confidential_client)
    basic = base64.b64encode(b"earshot-app:s3cret").decode()

    response = raw(
        "POST",
        "/2/oauth2/revoke",
        data={"token": issued.access_token},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.json() == {"revoked": True}
    with pytest.raises(tweepy.Unauthorized):
        client_for(issued.access_token).get_me(user_auth=False)


def test_it_injects_faults_on_the_token_endpoint(raw, confidential_client):
    services.add_fault("oauth2_token", "server_error")

    assert raw(
        "POST", "/2/oauth2/token", data={"grant_type": "refresh_token"}
    ).status_code in (500, 503)
