"""Rows for the dashboard tests, written directly (the SLA services are not needed to read figures)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from mentions.models import (
    Author,
    Mention,
    MentionStream,
    Stream,
    Team,
    Thread,
    XAccount,
)
from mentions.sla.models import SlaClock

_ids = itertools.count(1)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def account() -> XAccount:
    return XAccount.objects.create(
        handle="AcmeSupport", x_user_id=str(9000 + next(_ids))
    )


def mention(
    acct: XAccount, created_at: datetime, *, lag: int = 10, streams=(), **fields
) -> Mention:
    n = next(_ids)
    author = Author.objects.create(x_id=f"a{n}", handle=f"customer{n}")
    thread = Thread.objects.create(
        conversation_id=f"c{n}", author=author, created_at=created_at
    )
    m = Mention.objects.create(
        x_id=str(100000 + n),
        account=acct,
        author=author,
        thread=thread,
        text=f"help {n}",
        created_at=created_at,
        ingested_at=created_at + timedelta(seconds=lag),
        **fields,
    )
    for stream in streams:
        MentionStream.objects.create(mention=m, stream=stream)
    return m


def clock(
    m: Mention,
    target: str,
    state: str,
    *,
    started_at=None,
    stopped_at=None,
    elapsed="auto",
    business=None,
    paused=0,
    late=False,
    by=None,
    channel="",
    cycle=1,
) -> SlaClock:
    """A clock; `elapsed="auto"` stores stop - start - paused like the SLA service, None leaves it empty."""
    started_at = started_at or m.created_at
    seconds = None
    if stopped_at is not None and elapsed == "auto":
        seconds = int((stopped_at - started_at).total_seconds()) - paused
    elif isinstance(elapsed, int):
        seconds = elapsed
    return SlaClock.objects.create(
        mention=m,
        target=target,
        cycle=cycle,
        state=state,
        target_seconds=3600,
        started_at=started_at,
        due_at=started_at + timedelta(hours=1),
        stopped_at=stopped_at,
        paused_seconds=paused,
        paused_at=started_at if state == "paused" else None,
        is_late=late,
        stopped_by=by,
        stopped_by_channel=channel,
        elapsed_seconds=seconds,
        elapsed_business_seconds=business if business is not None else seconds,
    )


def streams(acct: XAccount) -> tuple[Stream, Stream]:
    return (
        Stream.objects.create(
            account=acct, kind=Stream.Kind.MENTIONS, name="@mentions"
        ),
        Stream.objects.create(
            account=acct, kind=Stream.Kind.SEARCH, name="search", query="acme"
        ),
    )


def teams() -> tuple[Team, Team]:
    return Team.objects.create(name="Billing"), Team.objects.create(name="Tech")
