"""The shape every outbound channel has, and its error type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from responders.models import Outbound


class ChannelError(Exception):
    """A delivery failure. `permanent`: retrying the same message cannot help (a 4xx, a closed inbox).

    `retry_at` is set for rate limits: retrying before then is pointless.
    """

    def __init__(
        self, message: str, *, permanent: bool, retry_at: datetime | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_at = retry_at


@dataclass(frozen=True)
class SentMessage:
    external_id: str
    url: str = ""
    dm_conversation_id: str = ""


class Channel(Protocol):
    # True when `find_sent` can tell whether an earlier attempt reached the other side.
    can_reconcile: bool

    def send(self, outbound: Outbound, *, now: datetime) -> SentMessage: ...

    def find_sent(self, outbound: Outbound, *, now: datetime) -> SentMessage | None: ...
