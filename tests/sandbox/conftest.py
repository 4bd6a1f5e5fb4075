"""Fixtures for the sandbox X API tests: real tweepy over real HTTP against pytest-django's live_server."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import tweepy
from requests.adapters import HTTPAdapter

from mentions.sandbox import services


class RedirectAdapter(HTTPAdapter):
    """Send requests meant for https://api.twitter.com to the sandbox base URL (xapi/README.md §1.2)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__()
        self.base = urlsplit(base_url.rstrip("/"))
        self.default_timeout = timeout

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        request.url = urlunsplit(
            (
                self.base.scheme,
                self.base.netloc,
                self.base.path + url.path,
                url.query,
                "",
            )
        )
        kwargs["proxies"] = {}
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().send(request, **kwargs)


@pytest.fixture
def api_base(live_server):
    return f"{live_server.url}/xsandbox"


@pytest.fixture
def mount(api_base):
    """Point any requests.Session (a tweepy client's, an OAuth2UserHandler) at the sandbox."""

    def mount_on(
        session: requests.Session, *, timeout: float = 10.0
    ) -> requests.Session:
        session.trust_env = False
        session.mount(
            "https://api.twitter.com/", RedirectAdapter(api_base, timeout=timeout)
        )
        return session

    return mount_on


@pytest.fixture
def client_for(mount):
    def make(bearer_token: str | None = None, **kwargs) -> tweepy.Client:
        client = tweepy.Client(bearer_token=bearer_token, **kwargs)
        mount(client.session)
        return client

    return make


@pytest.fixture
def brand(transactional_db):
    return services.create_user(
        "AcmeHelp", "Acme Support", followers_count=50_000, verified=True
    )


@pytest.fixture
def customer(transactional_db):
    return services.create_user("jane_doe", "Jane Doe", followers_count=120)


@pytest.fixture
def app_client(client_for, transactional_db):
    return client_for(services.issue_app_token())


@pytest.fixture
def brand_client(client_for, brand):
    return client_for(services.issue_user_token(brand).access_token)


@pytest.fixture
def raw(api_base):
    """Plain requests against the sandbox, for checking headers and bodies byte for byte."""

    def call(
        method: str, path: str, token: str | None = None, **kwargs
    ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        with requests.Session() as session:
            session.trust_env = False
            return session.request(
                method, api_base + path, headers=headers, timeout=10, **kwargs
            )

    return call


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Render pages without a collectstatic manifest (the suite runs with DEBUG=0)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
