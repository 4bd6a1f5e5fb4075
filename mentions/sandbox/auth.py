"""Who is calling the sandbox X API: app-only bearer, OAuth 2.0 user token, or OAuth 1.0a user.

OAuth 1.0a: the sandbox checks the header's `oauth_consumer_key` and `oauth_token` against a stored
pair and does **not** verify the HMAC signature (tweepy signs over https://api.twitter.com, and a
sandbox gains nothing from checking it). OAuth 1.0a callers get every scope, like an app with
"Read, Write and Direct Messages" permission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from django.http import HttpRequest

from mentions.sandbox import problems
from mentions.sandbox.models import SandboxToken, SandboxUser

ALL_SCOPES = frozenset(
    {"tweet.read", "users.read", "tweet.write", "dm.read", "dm.write", "offline.access"}
)
_OAUTH_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Caller:
    token: SandboxToken
    user: SandboxUser | None
    scopes: frozenset[str]

    @property
    def is_user(self) -> bool:
        return self.user is not None

    @property
    def subject(self) -> str:
        """Rate-limit key: per user for user context, per app for app-only tokens."""
        return (
            f"user:{self.user.x_id}"
            if self.user is not None
            else f"app:{self.token.name or self.token.pk}"
        )

    @property
    def access_level(self) -> str:
        if self.user is None:
            return "read"
        if {"dm.read", "dm.write"} & self.scopes:
            return "read-write-directmessages"
        return "read-write" if "tweet.write" in self.scopes else "read"


def _oauth1_caller(header: str) -> Caller:
    params = {key: unquote(value) for key, value in _OAUTH_PARAM_RE.findall(header)}
    token = (
        SandboxToken.objects.select_related("user")
        .filter(
            kind=SandboxToken.Kind.OAUTH1,
            token=params.get("oauth_token", ""),
            consumer_key=params.get("oauth_consumer_key", ""),
            is_revoked=False,
        )
        .first()
    )
    if token is None or token.user is None:
        raise problems.unauthorized()
    return Caller(token=token, user=token.user, scopes=ALL_SCOPES)


def authenticate(request: HttpRequest, *, now: datetime) -> Caller:
    """The caller behind the Authorization header, or ApiError(401)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("OAuth "):
        return _oauth1_caller(header)
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or value == "None":
        raise problems.unauthorized()
    token = (
        SandboxToken.objects.select_related("user")
        .filter(token=value, is_revoked=False)
        .first()
    )
    if token is None or token.kind == SandboxToken.Kind.OAUTH1:
        raise problems.unauthorized()
    if token.expires_at is not None and token.expires_at <= now:
        raise problems.unauthorized()
    if token.kind == SandboxToken.Kind.APP:
        return Caller(token=token, user=None, scopes=frozenset())
    return Caller(token=token, user=token.user, scopes=frozenset(token.scope.split()))


def require(caller: Caller, *, user_context: bool, scopes: frozenset[str]) -> None:
    """Enforce the endpoint's auth type and OAuth 2.0 scopes (xapi/README.md §1.3)."""
    if caller.user is None:
        if user_context:
            raise problems.unsupported_authentication()
        return
    missing = sorted(scopes - caller.scopes)
    if missing:
        raise problems.forbidden(
            "You are not permitted to perform this action: the token lacks the required scopes "
            f"[{', '.join(missing)}]."
        )
