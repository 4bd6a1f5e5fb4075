"""Public replies through the X adapter, and the reconciliation that makes them exactly-once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mentions.accounts import refresh_token_if_needed
from mentions.models import XAccount
from mentions.sources.base import PermanentError, RateLimitedError, SourceError
from mentions.sources.x import XSource
from responders.channels.base import ChannelError, SentMessage
from responders.models import Outbound


class OutboundXSource(XSource):
    """The brand's X adapter plus the two reads reconciliation needs (the brand's own posts and DMs,
    which the inbound parsers deliberately drop)."""

    def own_replies_to(self, post_id: str) -> list[dict[str, Any]]:
        """The brand's replies to `post_id` (recent search: `from:<brand> in_reply_to_tweet_id:<id>`).

        On the real X, search lags posting by up to ~30 s; against the real X the delivery lease is
        longer than that (delivery.lease_length), so a reconciliation never runs sooner after the lost
        attempt.
        """
        payload = self._call(
            self._reader.search_recent_tweets,
            query=f"from:{self.brand_handle} in_reply_to_tweet_id:{post_id}",
            max_results=100,
            tweet_fields=["id", "text", "author_id", "created_at"],
            user_auth=False,
        )
        return [p for p in payload.get("data") or [] if isinstance(p, dict)]

    def own_dms_with(self, participant_id: str) -> list[dict[str, Any]]:
        payload = self._call(
            self._user.get_direct_message_events,
            participant_id=participant_id,
            event_types="MessageCreate",
            dm_event_fields=[
                "id",
                "text",
                "sender_id",
                "dm_conversation_id",
                "created_at",
            ],
            max_results=100,
            user_auth=False,
        )
        return [
            e
            for e in payload.get("data") or []
            if isinstance(e, dict) and str(e.get("sender_id")) == self.brand_id
        ]


def source_for(account: XAccount, *, now: datetime) -> OutboundXSource:
    refresh_token_if_needed(account, now=now)
    return OutboundXSource(
        user_token=account.access_token,
        app_token=account.app_bearer_token,
        brand_id=account.x_user_id,
        brand_handle=account.handle,
    )


def channel_error(exc: SourceError) -> ChannelError:
    if isinstance(exc, RateLimitedError):
        return ChannelError(exc.message, permanent=False, retry_at=exc.retry_at)
    return ChannelError(exc.message, permanent=isinstance(exc, PermanentError))


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def post_url(handle: str, post_id: str) -> str:
    return f"https://x.com/{handle}/status/{post_id}"


class XReplyChannel:
    can_reconcile = True

    def send(self, outbound: Outbound, *, now: datetime) -> SentMessage:
        mention = outbound.mention
        source = source_for(mention.account, now=now)
        try:
            data = source.create_reply(outbound.text, in_reply_to_id=mention.x_id)
        except SourceError as exc:
            raise channel_error(exc) from exc
        post_id = str(data.get("id") or "")
        if not post_id:
            raise ChannelError(
                "X accepted the reply but sent no post id", permanent=False
            )
        return SentMessage(post_id, post_url(mention.account.handle, post_id))

    def find_sent(self, outbound: Outbound, *, now: datetime) -> SentMessage | None:
        mention = outbound.mention
        source = source_for(mention.account, now=now)
        try:
            posts = source.own_replies_to(mention.x_id)
        except SourceError as exc:
            raise channel_error(exc) from exc
        for post in posts:
            if _same_text(str(post.get("text") or ""), outbound.text):
                post_id = str(post["id"])
                return SentMessage(post_id, post_url(mention.account.handle, post_id))
        return None
