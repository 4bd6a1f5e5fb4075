"""What every inbound source adapter returns and raises.

An adapter turns a platform's wire format into `SourcePage`s of `InboundMention`s and maps every failure
into one of three errors, so polling logic never sees a platform's own exception types:

- `RateLimitedError`: wait until `retry_at`, then resume (the checkpoint keeps the place).
- `TransientError`: 5xx, timeouts, connection errors; back off exponentially and try again.
- `PermanentError`: 4xx, usage caps, exhausted credits; retrying cannot help, the stream stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class SourceError(Exception):
    permanent: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RateLimitedError(SourceError):
    def __init__(
        self, message: str, *, retry_at: datetime, status: int | None = 429
    ) -> None:
        super().__init__(message, status=status)
        self.retry_at = retry_at


class TransientError(SourceError):
    pass


class PermanentError(SourceError):
    permanent = True


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True, slots=True)
class InboundAuthor:
    x_id: str
    handle: str
    name: str
    description: str = ""
    followers_count: int = 0
    verified: bool = False
    avatar_url: str = ""
    # False when the author's profile was missing from the response (a placeholder we must not upsert over
    # real data).
    complete: bool = True


@dataclass(frozen=True, slots=True)
class InboundMention:
    x_id: str
    kind: str  # Mention.Kind value
    text: str
    lang: str
    created_at: datetime
    author_x_id: str
    conversation_id: str
    in_reply_to_x_id: str
    summons_brand: bool
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadItem:
    """An item we could not parse: logged with its id, never stored, never blocking the rest."""

    x_id: str
    reason: str


@dataclass(slots=True)
class SourcePage:
    mentions: list[InboundMention] = field(default_factory=list)
    authors: list[InboundAuthor] = field(default_factory=list)
    bad: list[BadItem] = field(default_factory=list)
    # Partial errors X reported inside a 200 (deleted or protected expansion targets).
    partial_errors: list[dict[str, Any]] = field(default_factory=list)
    result_count: int = 0
    newest_id: str | None = None
    oldest_id: str | None = None
    oldest_created_at: datetime | None = None
    next_token: str | None = None
    # Items the page carried that are not mentions (the brand's own posts and DMs).
    skipped_own: int = 0
    rate_limit: RateLimit | None = None
