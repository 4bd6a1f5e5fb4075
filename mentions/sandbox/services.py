"""Public Python API of the sandbox X API: seed users, posts and DMs, issue credentials, inject faults.

The demo setup command, the customer simulator, the traffic generator and tests call these; the HTTP
endpoints call them too, so a post made here and one made through POST /2/tweets look the same.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mentions.sandbox import ids
from mentions.sandbox.models import (
    SandboxAuthCode,
    SandboxDMEvent,
    SandboxFault,
    SandboxOAuthClient,
    SandboxPost,
    SandboxRateCounter,
    SandboxRateLimit,
    SandboxToken,
    SandboxUser,
)
from mentions.sandbox.ratelimit import ENDPOINTS
from mentions.sandbox.serialize import HASHTAG_RE, MENTION_RE

DEFAULT_SCOPES = "tweet.read users.read tweet.write dm.read dm.write offline.access"
ACCESS_TOKEN_SECONDS = 7200


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scope: str


# --- Users ---------------------------------------------------------------------------------------


def create_user(
    username: str,
    name: str,
    *,
    followers_count: int = 0,
    verified: bool = False,
    description: str = "",
    accepts_dms: bool = True,
    profile_image_url: str = "",
) -> SandboxUser:
    now = timezone.now()
    return SandboxUser.objects.create(
        x_id=str(ids.next_id(now, now=now)),
        username=username,
        username_lower=username.lower(),
        name=name,
        followers_count=followers_count,
        verified=verified,
        description=description,
        accepts_dms=accepts_dms,
        profile_image_url=profile_image_url,
        created_at=now,
    )


def get_or_create_user(
    username: str,
    name: str = "",
    *,
    followers_count: int = 0,
    verified: bool = False,
    description: str = "",
    accepts_dms: bool = True,
    profile_image_url: str = "",
) -> SandboxUser:
    """The user with this username (case-insensitive), created with these details if missing."""
    existing = SandboxUser.objects.filter(username_lower=username.lower()).first()
    if existing is not None:
        return existing
    return create_user(
        username,
        name or username,
        followers_count=followers_count,
        verified=verified,
        description=description,
        accepts_dms=accepts_dms,
        profile_image_url=profile_image_url,
    )


def get_user(x_id: str) -> SandboxUser | None:
    return SandboxUser.objects.filter(x_id=x_id).first()


# --- Posts and DMs ------------------------------------------------------------------------------


def _as_post(value: SandboxPost | str | int | None) -> SandboxPost | None:
    if value is None or isinstance(value, SandboxPost):
        return value
    return SandboxPost.objects.select_related("author").get(id=int(value))


def create_post(
    author: SandboxUser,
    text: str,
    *,
    in_reply_to: SandboxPost | str | int | None = None,
    quote_of: SandboxPost | str | int | None = None,
    lang: str | None = None,
    created_at: datetime | None = None,
) -> SandboxPost:
    """Store a post: its snowflake id from `created_at`, conversation, reply target, mentions, hashtags."""
    now = timezone.now()
    when = created_at or now
    parent = _as_post(in_reply_to)
    quoted = _as_post(quote_of)
    mentions = {m.lower() for m in MENTION_RE.findall(text)}
    hashtags = {h.lower() for h in HASHTAG_RE.findall(text)}
    with transaction.atomic():
        post_id = ids.next_id(when, now=now)
        return SandboxPost.objects.create(
            id=post_id,
            author=author,
            text=text,
            lang=lang or "en",
            created_at=when,
            conversation_id=parent.conversation_id if parent is not None else post_id,
            in_reply_to=parent,
            in_reply_to_user=parent.author if parent is not None else None,
            quote_of=quoted,
            mention_usernames=" " + " ".join(sorted(mentions)) + " "
            if mentions
            else " ",
            hashtags=" " + " ".join(sorted(hashtags)) + " " if hashtags else " ",
        )


def delete_post(post: SandboxPost) -> None:
    SandboxPost.objects.filter(pk=post.pk).update(is_deleted=True)
    post.is_deleted = True


def conversation_id_for(a: SandboxUser, b: SandboxUser) -> str:
    """One-to-one DM conversation id: "<smaller user id>-<larger user id>"."""
    low, high = sorted((int(a.x_id), int(b.x_id)))
    return f"{low}-{high}"


def create_dm(
    sender: SandboxUser,
    recipient: SandboxUser,
    text: str,
    *,
    created_at: datetime | None = None,
) -> SandboxDMEvent:
    now = timezone.now()
    when = created_at or now
    with transaction.atomic():
        return SandboxDMEvent.objects.create(
            id=ids.next_id(when, now=now),
            dm_conversation_id=conversation_id_for(sender, recipient),
            sender=sender,
            recipient=recipient,
            text=text,
            created_at=when,
        )


def thread_for(post: SandboxPost) -> list[SandboxPost]:
    """Every live post of the post's conversation, oldest first."""
    return list(
        SandboxPost.objects.filter(
            conversation_id=post.conversation_id, is_deleted=False
        )
        .select_related("author", "in_reply_to_user")
        .order_by("id")
    )


def dm_thread(a: SandboxUser, b: SandboxUser) -> list[SandboxDMEvent]:
    return list(
        SandboxDMEvent.objects.filter(dm_conversation_id=conversation_id_for(a, b))
        .select_related("sender", "recipient")
        .order_by("id")
    )


# --- Credentials ----------------------------------------------------------------------------------


def issue_user_token(
    user: SandboxUser,
    *,
    scopes: str = DEFAULT_SCOPES,
    expires_in: int = ACCESS_TOKEN_SECONDS,
    client: SandboxOAuthClient | None = None,
) -> IssuedToken:
    """An OAuth 2.0 user access token (and a refresh token when `offline.access` is granted)."""
    scope = " ".join(scopes.split())
    refresh = secrets.token_urlsafe(32) if "offline.access" in scope.split() else None
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    token = SandboxToken.objects.create(
        kind=SandboxToken.Kind.USER,
        token=secrets.token_urlsafe(32),
        refresh_token=refresh,
        user=user,
        client=client,
        scope=scope,
        expires_at=expires_at,
    )
    return IssuedToken(token.token, refresh, expires_at, scope)


def refresh_user_token(
    refresh_token: str, *, client: SandboxOAuthClient | None = None
) -> IssuedToken | None:
    """Rotate: revoke the old pair and issue a new one with the same scopes, or None if unknown."""
    with transaction.atomic():
        old = (
            SandboxToken.objects.select_for_update()
            .filter(refresh_token=refresh_token, is_revoked=False)
            .first()
        )
        if (
            old is None
            or old.user is None
            or (client is not None and old.client_id not in (None, client.pk))
        ):
            return None
        old.is_revoked = True
        old.refresh_token = None
        old.save(update_fields=["is_revoked", "refresh_token"])
        return issue_user_token(old.user, scopes=old.scope, client=client or old.client)


def revoke_token(token: str) -> bool:
    return (
        SandboxToken.objects.filter(Q(token=token) | Q(refresh_token=token)).update(
            is_revoked=True
        )
        > 0
    )


def issue_app_token(name: str = "default") -> str:
    """An app-only bearer token (no expiry), like the one in the X developer console."""
    return SandboxToken.objects.create(
        kind=SandboxToken.Kind.APP, token=secrets.token_urlsafe(40), name=name
    ).token


def issue_oauth1_credentials(
    user: SandboxUser, *, consumer_key: str = "sandbox-consumer-key"
) -> tuple[str, str]:
    """An OAuth 1.0a (consumer_key, access_token) pair for `user`; secrets are not checked."""
    token = SandboxToken.objects.create(
        kind=SandboxToken.Kind.OAUTH1,
        token=f"{user.x_id}-{secrets.token_urlsafe(20)}",
        consumer_key=consumer_key,
        user=user,
        scope=DEFAULT_SCOPES,
    )
    return consumer_key, token.token


def create_oauth_client(
    client_id: str, client_secret: str = "", redirect_uris: list[str] | None = None
) -> SandboxOAuthClient:
    client, _ = SandboxOAuthClient.objects.update_or_create(
        client_id=client_id,
        defaults={"client_secret": client_secret, "redirect_uris": redirect_uris or []},
    )
    return client


def create_authorization_code(
    client: SandboxOAuthClient,
    user: SandboxUser,
    *,
    redirect_uri: str,
    scope: str,
    code_challenge: str,
    code_challenge_method: str = "S256",
) -> str:
    """What the consent page does on "Authorize app": a one-time code valid for 30 seconds."""
    return SandboxAuthCode.objects.create(
        code=secrets.token_urlsafe(32),
        client=client,
        user=user,
        redirect_uri=redirect_uri,
        scope=" ".join(scope.split()),
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
    ).code


# --- Faults and rate limits ------------------------------------------------------------------------


def add_fault(
    endpoint: str,
    kind: str,
    *,
    count: int = 1,
    after: int = 0,
    delay_seconds: float = 0.0,
    reset_in_seconds: int = 2,
) -> SandboxFault:
    """Make the next `count` calls of `endpoint` ("*" for all) fail with `kind`, after `after` normal calls."""
    if endpoint != "*" and endpoint not in ENDPOINTS:
        raise ValueError(
            f"Unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)} or '*'."
        )
    if kind not in SandboxFault.Kind.values:
        raise ValueError(
            f"Unknown fault kind {kind!r}; use one of {', '.join(SandboxFault.Kind.values)}."
        )
    return SandboxFault.objects.create(
        endpoint=endpoint,
        kind=kind,
        remaining=count,
        skip=after,
        delay_seconds=delay_seconds,
        reset_in_seconds=reset_in_seconds,
    )


def clear_faults() -> None:
    SandboxFault.objects.all().delete()


def pending_faults() -> list[SandboxFault]:
    return list(SandboxFault.objects.filter(remaining__gt=0))


def set_rate_limit(endpoint: str, limit: int, window_seconds: int = 900) -> None:
    """Override an endpoint's limit (per user and per app) until `reset_rate_limits(defaults=True)`."""
    if endpoint not in ENDPOINTS:
        raise ValueError(
            f"Unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)}."
        )
    SandboxRateLimit.objects.update_or_create(
        endpoint=endpoint, defaults={"limit": limit, "window_seconds": window_seconds}
    )
    SandboxRateCounter.objects.filter(bucket__startswith=f"{endpoint}|").delete()


def reset_rate_limits(*, defaults: bool = False) -> None:
    """Empty every rate-limit window; with defaults=True also drop the `set_rate_limit` overrides."""
    SandboxRateCounter.objects.all().delete()
    if defaults:
        SandboxRateLimit.objects.all().delete()
