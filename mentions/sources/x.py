"""The X (Twitter) adapter: one class over `tweepy.Client`, parsing and error mapping.

- tweepy hard-codes `https://api.twitter.com`; `XTransportAdapter`, mounted on the documented
  `client.session`, rewrites requests to `X_API_BASE_URL` (the sandbox X API in demos and tests) and adds
  the connect/read timeout tweepy lacks (xapi/README.md §1.2). No monkeypatching.
- Every call uses `return_type=dict` and our own parsers, so a malformed item is reported by id instead of
  failing the page inside tweepy's model classes.
- Every failure becomes a `RateLimitedError`, `TransientError` or `PermanentError` (sources/base.py).
  `wait_on_rate_limit` stays off: a worker never sleeps inside a task.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session

from mentions.sources.base import (
    BadItem,
    InboundAuthor,
    InboundMention,
    PermanentError,
    RateLimit,
    RateLimitedError,
    SourcePage,
    TransientError,
)

logger = logging.getLogger(__name__)

REAL_API_HOST = "https://api.twitter.com"
TOKEN_URL = f"{REAL_API_HOST}/2/oauth2/token"
SCOPES = "tweet.read users.read tweet.write dm.read dm.write offline.access"

TWEET_FIELDS = [
    "id",
    "text",
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
    "lang",
    "public_metrics",
    "edit_history_tweet_ids",
]
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"]
USER_FIELDS = [
    "id",
    "name",
    "username",
    "description",
    "public_metrics",
    "verified",
    "profile_image_url",
]
DM_EVENT_FIELDS = [
    "id",
    "text",
    "event_type",
    "created_at",
    "sender_id",
    "dm_conversation_id",
    "attachments",
]

_DIGITS = re.compile(r"^[0-9]{1,19}$")


class XTransportAdapter(HTTPAdapter):
    """Send tweepy's `https://api.twitter.com/...` requests to `base_url`, with a default timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base = urlsplit(base_url.rstrip("/"))
        self.rewrite = base_url.rstrip("/") != REAL_API_HOST
        self.timeout = timeout

    def send(  # type: ignore[override]  # requests' signature is untyped in parts
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if self.rewrite and request.url:
            original = urlsplit(request.url)
            request.url = urlunsplit(
                (
                    self.base.scheme,
                    self.base.netloc,
                    self.base.path + original.path,
                    original.query,
                    "",
                )
            )
            proxies = {}  # environment proxies must never capture loopback traffic
        return super().send(
            request,
            stream=stream,
            timeout=timeout or self.timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def mount_transport(
    session: requests.Session,
    *,
    base_url: str | None = None,
    timeout: float | None = None,
) -> None:
    adapter = XTransportAdapter(
        base_url or settings.X_API_BASE_URL, timeout or settings.X_API_TIMEOUT
    )
    session.mount(f"{REAL_API_HOST}/", adapter)
    if adapter.rewrite:
        session.trust_env = False


# --- Parsing ---------------------------------------------------------------------------------


def parse_x_time(value: Any) -> datetime:
    """X's `2024-05-01T12:00:00.000Z`; anything without a time zone is refused."""
    if not isinstance(value, str):
        raise ValueError(f"created_at is {type(value).__name__}, not a string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"created_at {value!r} has no time zone")
    return parsed.astimezone(UTC)


def _x_id(value: Any, what: str) -> str:
    text = str(value) if isinstance(value, str | int) else ""
    if not _DIGITS.match(text):
        raise ValueError(f"{what} {value!r} is not an X id")
    return text


def _author(user: dict[str, Any]) -> InboundAuthor:
    metrics = user.get("public_metrics") or {}
    return InboundAuthor(
        x_id=_x_id(user["id"], "user id"),
        handle=str(user["username"])[:50],
        name=str(user.get("name") or "")[:100],
        description=str(user.get("description") or ""),
        followers_count=max(0, int(metrics.get("followers_count") or 0)),
        verified=bool(user.get("verified")),
        avatar_url=str(user.get("profile_image_url") or "")[:500],
    )


def _placeholder_author(x_id: str) -> InboundAuthor:
    return InboundAuthor(x_id=x_id, handle=f"id{x_id}"[:50], name="", complete=False)


def _collect_authors(users: list[Any], needed: set[str], page: SourcePage) -> None:
    by_id: dict[str, InboundAuthor] = {}
    for user in users:
        try:
            author = _author(user)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning(
                "x: skipping malformed user %r: %s",
                user.get("id") if isinstance(user, dict) else user,
                exc,
            )
            continue
        by_id[author.x_id] = author
    for x_id in sorted(needed):
        page.authors.append(by_id.get(x_id) or _placeholder_author(x_id))


def _item_id(item: Any) -> str:
    return str(item.get("id", "?")) if isinstance(item, dict) else "?"


def _summons(
    item: dict[str, Any],
    quoted_authors: dict[str, str],
    brand_id: str,
    brand_handle: str,
) -> bool:
    """True when the post @mentions or quotes the brand (the only case X allows an API reply)."""
    handle = brand_handle.casefold()
    for mention in (item.get("entities") or {}).get("mentions") or []:
        if (
            str(mention.get("id", "")) == brand_id
            or str(mention.get("username", "")).casefold() == handle
        ):
            return True
    for ref in item.get("referenced_tweets") or []:
        if (
            ref.get("type") == "quoted"
            and quoted_authors.get(str(ref.get("id"))) == brand_id
        ):
            return True
    if not item.get("entities"):
        return (
            re.search(
                rf"(?<![\w@])@{re.escape(brand_handle)}\b",
                item.get("text") or "",
                re.IGNORECASE,
            )
            is not None
        )
    return False


def _finish(page: SourcePage, payload: dict[str, Any]) -> SourcePage:
    meta = payload.get("meta") or {}
    page.result_count = int(meta.get("result_count") or 0)
    page.newest_id = meta.get("newest_id")
    page.oldest_id = meta.get("oldest_id")
    page.next_token = meta.get("next_token")
    page.partial_errors = list(payload.get("errors") or [])
    if page.mentions:
        page.oldest_created_at = min(m.created_at for m in page.mentions)
    for bad in page.bad:
        logger.warning("x: skipped malformed item %s: %s", bad.x_id, bad.reason)
    for error in page.partial_errors:
        logger.info("x: partial error in response: %s", error.get("detail") or error)
    return page


def parse_posts_page(
    payload: dict[str, Any],
    *,
    brand_id: str,
    brand_handle: str,
    always_summoned: bool = False,
) -> SourcePage:
    """Parse a search or mentions page. The brand's own posts are dropped, not stored."""
    page = SourcePage()
    includes = payload.get("includes") or {}
    quoted_authors = {
        str(t.get("id")): str(t.get("author_id"))
        for t in includes.get("tweets") or []
        if isinstance(t, dict)
    }
    needed: set[str] = set()
    for item in payload.get("data") or []:
        try:
            x_id = _x_id(item["id"], "post id")
            author_id = _x_id(item["author_id"], "author_id")
            if author_id == brand_id:
                page.skipped_own += 1
                continue
            text = item["text"]
            if not isinstance(text, str):
                raise ValueError("text is not a string")
            in_reply_to = next(
                (
                    str(r["id"])
                    for r in item.get("referenced_tweets") or []
                    if r.get("type") == "replied_to"
                ),
                "",
            )
            mention = InboundMention(
                x_id=x_id,
                kind="post",
                text=text,
                lang=str(item.get("lang") or "")[:16],
                created_at=parse_x_time(item.get("created_at")),
                author_x_id=author_id,
                conversation_id=str(item.get("conversation_id") or x_id),
                in_reply_to_x_id=in_reply_to,
                summons_brand=always_summoned
                or _summons(item, quoted_authors, brand_id, brand_handle),
                raw=item,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            page.bad.append(
                BadItem(x_id=_item_id(item), reason=f"{type(exc).__name__}: {exc}")
            )
            continue
        page.mentions.append(mention)
        needed.add(author_id)
    _collect_authors(includes.get("users") or [], needed, page)
    return _finish(page, payload)


def parse_dm_page(payload: dict[str, Any], *, brand_id: str) -> SourcePage:
    """Parse a dm_events page. The endpoint returns sent and received events; ours are dropped."""
    page = SourcePage()
    needed: set[str] = set()
    for event in payload.get("data") or []:
        try:
            x_id = _x_id(event["id"], "event id")
            if event.get("event_type", "MessageCreate") != "MessageCreate":
                continue
            sender = _x_id(event["sender_id"], "sender_id")
            if sender == brand_id:
                page.skipped_own += 1
                continue
            low, high = sorted((int(sender), int(brand_id)))
            mention = InboundMention(
                x_id=x_id,
                kind="dm",
                text=str(event.get("text") or ""),
                lang="",
                created_at=parse_x_time(event.get("created_at")),
                author_x_id=sender,
                conversation_id=str(event.get("dm_conversation_id") or f"{low}-{high}"),
                in_reply_to_x_id="",
                summons_brand=False,
                raw=event,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            page.bad.append(
                BadItem(x_id=_item_id(event), reason=f"{type(exc).__name__}: {exc}")
            )
            continue
        page.mentions.append(mention)
        needed.add(sender)
    _collect_authors((payload.get("includes") or {}).get("users") or [], needed, page)
    page = _finish(page, payload)
    # dm_events meta has no newest/oldest ids; derive them from the events themselves.
    ids = [
        int(e["id"])
        for e in payload.get("data") or []
        if isinstance(e, dict) and _DIGITS.match(str(e.get("id")))
    ]
    if ids:
        page.newest_id, page.oldest_id = str(max(ids)), str(min(ids))
    return page


# --- Errors ----------------------------------------------------------------------------------


def _body(response: requests.Response | None) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(exc: tweepy.HTTPException) -> str:
    body = _body(exc.response)
    parts = list(exc.api_messages) or [
        str(body.get("detail") or body.get("title") or "")
    ]
    text = "; ".join(p for p in parts if p) or (
        exc.response.reason if exc.response is not None else ""
    )
    return f"X answered {exc.response.status_code if exc.response is not None else '?'}: {text}"


def _rate_limit_from(headers: Any) -> RateLimit | None:
    def num(name: str) -> int | None:
        try:
            return int(headers[name])
        except (KeyError, TypeError, ValueError):
            return None

    limit, remaining, reset = (
        num("x-rate-limit-limit"),
        num("x-rate-limit-remaining"),
        num("x-rate-limit-reset"),
    )
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(
        limit=limit,
        remaining=remaining,
        reset_at=datetime.fromtimestamp(reset, UTC) if reset else None,
    )


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    scope: str


class XSource:
    """One brand account's view of X. Build a new one per poll; it is cheap."""

    def __init__(
        self,
        *,
        user_token: str,
        brand_id: str,
        brand_handle: str,
        app_token: str = "",
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.brand_id = brand_id
        self.brand_handle = brand_handle
        self.base_url = base_url or settings.X_API_BASE_URL
        self.timeout = timeout or settings.X_API_TIMEOUT
        self.last_rate_limit: RateLimit | None = None
        self._user = self._client(user_token)
        self._reader = self._client(app_token) if app_token else self._user

    def _client(self, token: str) -> tweepy.Client:
        client = tweepy.Client(
            bearer_token=token or None, return_type=dict, wait_on_rate_limit=False
        )
        mount_transport(client.session, base_url=self.base_url, timeout=self.timeout)
        client.session.hooks["response"].append(self._remember_rate_limit)
        return client

    def _remember_rate_limit(
        self, response: requests.Response, *args: Any, **kwargs: Any
    ) -> None:
        self.last_rate_limit = (
            _rate_limit_from(response.headers) or self.last_rate_limit
        )

    def _call(self, method: Callable[..., Any], /, **params: Any) -> dict[str, Any]:
        self.last_rate_limit = None
        try:
            result = method(**params)
        except tweepy.TooManyRequests as exc:
            body = _body(exc.response)
            if body.get("title") == "UsageCapExceeded" or str(
                body.get("type", "")
            ).endswith("/usage-capped"):
                raise PermanentError(
                    f"X usage cap reached: {body.get('detail') or 'usage capped'}",
                    status=429,
                ) from exc
            reset = exc.reset_time
            retry_at = (
                datetime.fromtimestamp(reset, UTC)
                if reset
                else datetime.now(UTC) + timedelta(minutes=1)
            )
            raise RateLimitedError("X rate limit reached", retry_at=retry_at) from exc
        except tweepy.TwitterServerError as exc:
            raise TransientError(
                _message(exc), status=exc.response.status_code
            ) from exc
        except tweepy.HTTPException as exc:
            # 400/401/403/404, 402 credits depleted, ...: retrying the same request cannot succeed.
            raise PermanentError(
                _message(exc), status=exc.response.status_code
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"Cannot reach X: {exc}") from exc
        except ValueError as exc:  # a 2xx whose body is not JSON
            raise TransientError(f"X sent an unreadable response: {exc}") from exc
        if not isinstance(result, dict):
            raise TransientError("X sent an unexpected response")
        return result

    def _with_rate_limit(self, page: SourcePage) -> SourcePage:
        page.rate_limit = self.last_rate_limit
        return page

    @staticmethod
    def _timeline_params(
        since_id: str | None,
        until_id: str | None,
        start_time: datetime | None,
        max_results: int,
    ) -> dict[str, Any]:
        """What search and mentions share: the cursor window (since_id beats start_time) and the fields."""
        return {
            "since_id": since_id or None,
            "until_id": until_id or None,
            "start_time": None if since_id else start_time,
            "max_results": max_results,
            "tweet_fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user_fields": USER_FIELDS,
            "user_auth": False,
        }

    def search(
        self,
        query: str,
        *,
        since_id: str | None = None,
        until_id: str | None = None,
        start_time: datetime | None = None,
        next_token: str | None = None,
        max_results: int = 100,
    ) -> SourcePage:
        payload = self._call(
            self._reader.search_recent_tweets,
            query=query,
            next_token=next_token,
            **self._timeline_params(since_id, until_id, start_time, max_results),
        )
        parsed = parse_posts_page(
            payload, brand_id=self.brand_id, brand_handle=self.brand_handle
        )
        return self._with_rate_limit(parsed)

    def mentions(
        self,
        *,
        since_id: str | None = None,
        until_id: str | None = None,
        start_time: datetime | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
    ) -> SourcePage:
        payload = self._call(
            self._reader.get_users_mentions,
            id=self.brand_id,
            pagination_token=pagination_token,
            **self._timeline_params(since_id, until_id, start_time, max_results),
        )
        parsed = parse_posts_page(
            payload,
            brand_id=self.brand_id,
            brand_handle=self.brand_handle,
            always_summoned=True,
        )
        return self._with_rate_limit(parsed)

    def dm_events(
        self, *, pagination_token: str | None = None, max_results: int = 100
    ) -> SourcePage:
        payload = self._call(
            self._user.get_direct_message_events,
            event_types="MessageCreate",
            dm_event_fields=DM_EVENT_FIELDS,
            expansions=["sender_id"],
            user_fields=USER_FIELDS,
            pagination_token=pagination_token,
            max_results=max_results,
            user_auth=False,
        )
        return self._with_rate_limit(parse_dm_page(payload, brand_id=self.brand_id))

    def create_reply(self, text: str, *, in_reply_to_id: str) -> dict[str, Any]:
        """Post a public reply as the brand; returns X's `data` ({"id", "text"})."""
        payload = self._call(
            self._user.create_tweet,
            text=text,
            in_reply_to_tweet_id=in_reply_to_id,
            user_auth=False,
        )
        return dict(payload.get("data") or {})

    def create_dm(self, text: str, *, participant_id: str) -> dict[str, Any]:
        """Send a DM as the brand; returns X's `data` ({"dm_conversation_id", "dm_event_id"})."""
        payload = self._call(
            self._user.create_direct_message,
            participant_id=participant_id,
            text=text,
            user_auth=False,
        )
        return dict(payload.get("data") or {})

    def get_me(self) -> dict[str, Any]:
        payload = self._call(
            self._user.get_me, user_fields=USER_FIELDS, user_auth=False
        )
        return dict(payload.get("data") or {})


def refresh_user_token(
    refresh_token: str,
    *,
    client_id: str,
    client_secret: str = "",
    base_url: str | None = None,
) -> TokenSet:
    """Exchange a refresh token for a new token set (X rotates the refresh token too)."""
    session = OAuth2Session(client_id=client_id, scope=SCOPES.split())
    mount_transport(session, base_url=base_url)
    auth = (
        requests.auth.HTTPBasicAuth(client_id, client_secret) if client_secret else None
    )
    try:
        token = session.refresh_token(
            TOKEN_URL,
            refresh_token=refresh_token,
            auth=auth,
            client_id=client_id,
            include_client_id=auth is None,
        )
    except requests.exceptions.RequestException as exc:
        raise TransientError(f"Cannot reach X to refresh the token: {exc}") from exc
    except (
        Exception
    ) as exc:  # oauthlib raises its own error classes for 4xx token answers
        raise PermanentError(f"X refused the token refresh: {exc}") from exc
    expires_at = token.get("expires_at")
    return TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=str(token.get("refresh_token") or refresh_token),
        expires_at=datetime.fromtimestamp(float(expires_at), UTC)
        if expires_at
        else None,
        scope=" ".join(token.get("scope") or [])
        if isinstance(token.get("scope"), list)
        else str(token.get("scope", "")),
    )
