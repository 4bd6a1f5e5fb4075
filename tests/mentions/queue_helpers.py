"""Rows for the queue and workspace tests: minimal valid mentions with the triage fields set directly."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from django.core.cache import cache
from django.utils import timezone

from mentions.models import Author, Mention, MentionStream, Stream, Thread, XAccount

_seq = count(1)


def make_account() -> XAccount:
    return XAccount.objects.create(handle="Acme", x_user_id="42", access_token="token")


def make_stream(account: XAccount, name: str = "@mentions") -> Stream:
    kind = Stream.Kind.MENTIONS if name == "@mentions" else Stream.Kind.SEARCH
    return Stream.objects.create(account=account, kind=kind, name=name, query="acme")


def make_mention(
    account: XAccount,
    stream: Stream | None = None,
    *,
    text: str = "my order is late",
    name: str = "Jo",
    handle: str | None = None,
    author: Author | None = None,
    created_at: datetime | None = None,
    conversation_id: str | None = None,
    **fields,
) -> Mention:
    n = next(_seq)
    if author is None:
        author = Author.objects.create(
            x_id=str(10_000 + n), handle=handle or f"user{n}", name=name
        )
    created = created_at or timezone.now() - timedelta(minutes=n)
    conversation = conversation_id or str(50_000 + n)
    thread, _ = Thread.objects.get_or_create(
        conversation_id=conversation, author=author, defaults={"created_at": created}
    )
    mention = Mention.objects.create(
        x_id=str(90_000 + n),
        account=account,
        author=author,
        thread=thread,
        text=text,
        created_at=created,
        conversation_id=conversation,
        **fields,
    )
    if stream is not None:
        MentionStream.objects.create(mention=mention, stream=stream)
    return mention


@pytest.fixture(autouse=True)
def fresh_cache():
    """Row HTML, role checks and option lists are cached: start each test from an empty cache.

    Rows, page fragments, role checks and option lists are also kept in this process's memory
    (mentions.queue_rows, mentions.views.common): those are forgotten too.
    """
    clear_caches()
    yield
    clear_caches()


def clear_caches() -> None:
    from mentions.queue_rows import clear_local_cache
    from mentions.views.common import fragments, memo
    from mentions.views.queue import _parsed

    cache.clear()
    clear_local_cache()
    fragments.clear()
    memo.clear()
    _parsed.clear()
