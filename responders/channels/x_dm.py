"""Direct messages from the brand account through the X adapter."""

from __future__ import annotations

from datetime import datetime

from mentions.sources.base import SourceError
from responders.channels.base import ChannelError, SentMessage
from responders.channels.x_reply import _same_text, channel_error, source_for
from responders.models import Outbound


def dm_url(conversation_id: str) -> str:
    return f"https://x.com/messages/{conversation_id}" if conversation_id else ""


class XDmChannel:
    can_reconcile = True

    def send(self, outbound: Outbound, *, now: datetime) -> SentMessage:
        source = source_for(outbound.mention.account, now=now)
        try:
            data = source.create_dm(outbound.text, participant_id=outbound.recipient)
        except SourceError as exc:
            raise channel_error(exc) from exc
        event_id = str(data.get("dm_event_id") or "")
        conversation = str(data.get("dm_conversation_id") or "")
        if not event_id:
            raise ChannelError(
                "X accepted the DM but sent no event id", permanent=False
            )
        return SentMessage(event_id, dm_url(conversation), conversation)

    def find_sent(self, outbound: Outbound, *, now: datetime) -> SentMessage | None:
        source = source_for(outbound.mention.account, now=now)
        try:
            events = source.own_dms_with(outbound.recipient)
        except SourceError as exc:
            raise channel_error(exc) from exc
        for event in events:
            if _same_text(str(event.get("text") or ""), outbound.text):
                conversation = str(event.get("dm_conversation_id") or "")
                return SentMessage(str(event["id"]), dm_url(conversation), conversation)
        return None
