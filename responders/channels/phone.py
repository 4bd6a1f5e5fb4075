"""Phone: nothing leaves Earshot; the agent calls and logs the outcome (responders/handoff.py)."""

from __future__ import annotations

from datetime import datetime

import phonenumbers

from responders.channels.base import ChannelError, SentMessage
from responders.models import Outbound


def normalize_number(raw: str, *, region: str) -> str:
    """E.164 form of a valid number, or ValueError with a message for the agent."""
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"That is not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            "That phone number is not valid (add the country code, e.g. +44 …)."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneChannel:
    """A logged call is recorded as sent at once; there is nothing to deliver or reconcile."""

    can_reconcile = False

    def send(self, outbound: Outbound, *, now: datetime) -> SentMessage:
        raise ChannelError("Phone calls are logged, not delivered", permanent=True)

    def find_sent(self, outbound: Outbound, *, now: datetime) -> SentMessage | None:
        return None
