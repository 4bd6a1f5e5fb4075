"""Shared fixtures: personas, the sandbox X API on a live server, a brand account with streams."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection

from mentions.models import Stream, XAccount

REQUIRE_SERVICES = os.environ.get("EARSHOT_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    """Skip tests that need PostgreSQL or Redis when they are absent, unless CI requires them."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = bool(settings.REDIS_URL)
    for item in items:
        needs_pg = item.get_closest_marker("postgres") or item.get_closest_marker(
            "integration"
        )
        needs_redis = item.get_closest_marker("integration")
        reason = ""
        if needs_pg and not on_postgres:
            reason = "needs PostgreSQL (set DATABASE_URL)"
        elif needs_redis and not has_redis:
            reason = "needs Redis (set REDIS_URL)"
        if reason:
            if REQUIRE_SERVICES:
                item.add_marker(
                    pytest.mark.xfail(
                        reason=f"EARSHOT_REQUIRE_SERVICES=1 but {reason}",
                        strict=True,
                        run=False,
                    )
                )
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests do not run collectstatic, so the manifest storage of production has nothing to read.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


def _user(username: str, role: str, **extra) -> User:
    user = User.objects.create_user(
        username=username, password="password", email=f"{username}@example.com", **extra
    )
    user.groups.add(
        Group.objects.get_or_create(name=role)[0]
    )  # transactional tests flush migration data
    return user


@pytest.fixture
def agent(db) -> User:
    return _user("alice", "agent", first_name="Alice")


@pytest.fixture
def manager(db) -> User:
    return _user("bob", "manager", first_name="Bob")


@pytest.fixture
def admin_user(db) -> User:
    return _user(
        "charlie", "admin", first_name="Charlie", is_staff=True, is_superuser=True
    )


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def sandbox_url(live_server, settings) -> str:
    """The sandbox X API served over real HTTP on loopback; the X adapter points at it."""
    url = f"{live_server.url}/xsandbox"
    settings.X_API_BASE_URL = url
    return url


@pytest.fixture
def brand(sandbox_url):
    """A sandbox brand user with user and app tokens, its XAccount and one stream of each kind."""
    from mentions.sandbox import services as sandbox

    for endpoint in (
        "search",
        "mentions",
        "dm_events",
        "create_post",
        "create_dm",
        "users_me",
    ):
        sandbox.set_rate_limit(endpoint, 10_000, 900)
    user = sandbox.create_user(
        "AcmeSupport", "Acme Support", followers_count=50_000, verified=True
    )
    token = sandbox.issue_user_token(user)
    account = XAccount.objects.create(
        handle=user.username,
        x_user_id=user.x_id,
        display_name=user.name,
        access_token=token.access_token,
        refresh_token=token.refresh_token or "",
        token_expires_at=token.expires_at,
        app_bearer_token=sandbox.issue_app_token("tests"),
    )
    streams = {
        "mentions": Stream.objects.create(
            account=account, kind=Stream.Kind.MENTIONS, name="@mentions"
        ),
        "search": Stream.objects.create(
            account=account,
            kind=Stream.Kind.SEARCH,
            name="search",
            query="(@AcmeSupport OR acme) -is:retweet",
        ),
        "dms": Stream.objects.create(account=account, kind=Stream.Kind.DMS, name="DMs"),
    }
    return {"user": user, "account": account, "streams": streams}


def child_database_url() -> str:
    """A DATABASE_URL for child processes (workers, killed pollers) that points at the test database."""
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
