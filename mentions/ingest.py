"""Storing parsed pages: bulk upserts of authors, threads and mentions, linked to the stream that matched.

The unique X id makes redelivery harmless: a page stored twice (a retried poll, two streams matching the
same post, two workers racing) adds each mention once. Callers run `store_page` inside the transaction
that also moves the stream's checkpoint (see polling.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mentions.models import Author, Mention, MentionStream, Thread
from mentions.sources.base import InboundAuthor, InboundMention

AUTHOR_UPDATE_FIELDS = ["handle", "name", "description", "followers_count", "verified", "avatar_url", "updated_at"]


@dataclass(frozen=True, slots=True)
class StoreResult:
    created: int
    duplicates: int


def _upsert_authors(authors: list[InboundAuthor], *, now: datetime) -> dict[str, int]:
    """Create or refresh authors; placeholders (profile missing from the response) never overwrite data."""
    complete = {a.x_id: a for a in authors if a.complete}
    placeholders = {a.x_id: a for a in authors if not a.complete and a.x_id not in complete}
    # Sorted so that two workers upserting overlapping authors lock rows in the same order (no deadlock).
    rows = [
        Author(
            x_id=a.x_id,
            handle=a.handle,
            name=a.name,
            description=a.description,
            followers_count=a.followers_count,
            verified=a.verified,
            avatar_url=a.avatar_url,
            first_seen_at=now,
            updated_at=now,
        )
        for a in sorted(complete.values(), key=lambda a: a.x_id)
    ]
    ids: dict[str, int] = {}
    if rows:
        Author.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["x_id"], update_fields=AUTHOR_UPDATE_FIELDS
        )
        ids = {row.x_id: row.pk for row in rows if row.pk is not None}
    if placeholders:
        Author.objects.bulk_create(
            [
                Author(x_id=a.x_id, handle=a.handle, name=a.name, first_seen_at=now, updated_at=now)
                for a in sorted(placeholders.values(), key=lambda a: a.x_id)
            ],
            ignore_conflicts=True,
        )
    missing = (complete.keys() | placeholders.keys()) - ids.keys()
    if missing:
        ids.update(Author.objects.filter(x_id__in=missing).values_list("x_id", "id"))
    return ids


def _thread_ids(mentions: list[InboundMention], author_ids: dict[str, int]) -> dict[tuple[str, int], int]:
    first_seen: dict[tuple[str, int], datetime] = {}
    for m in mentions:
        key = (m.conversation_id, author_ids[m.author_x_id])
        if key not in first_seen or m.created_at < first_seen[key]:
            first_seen[key] = m.created_at
    Thread.objects.bulk_create(
        [
            Thread(conversation_id=conversation, author_id=author, created_at=created)
            for (conversation, author), created in sorted(first_seen.items())
        ],
        ignore_conflicts=True,
    )
    rows = Thread.objects.filter(
        conversation_id__in={c for c, _ in first_seen}, author_id__in={a for _, a in first_seen}
    ).values_list("conversation_id", "author_id", "id")
    return {(conversation, author): pk for conversation, author, pk in rows}


def store_page(
    *,
    account_id: int,
    stream_id: int,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    now: datetime,
) -> StoreResult:
    """Upsert one page of mentions and record that `stream_id` matched them."""
    unique = list({m.x_id: m for m in mentions}.values())
    if not unique:
        return StoreResult(created=0, duplicates=0)
    author_ids = _upsert_authors(authors, now=now)
    unique = [m for m in unique if m.author_x_id in author_ids]
    thread_ids = _thread_ids(unique, author_ids)
    x_ids = [m.x_id for m in unique]
    existing = set(Mention.objects.filter(x_id__in=x_ids).values_list("x_id", flat=True))
    Mention.objects.bulk_create(
        [
            Mention(
                x_id=m.x_id,
                kind=m.kind,
                account_id=account_id,
                author_id=author_ids[m.author_x_id],
                thread_id=thread_ids[(m.conversation_id, author_ids[m.author_x_id])],
                text=m.text,
                lang=m.lang,
                created_at=m.created_at,
                ingested_at=now,
                conversation_id=m.conversation_id,
                in_reply_to_x_id=m.in_reply_to_x_id,
                summons_brand=m.summons_brand,
                raw=m.raw,
            )
            for m in unique
            if m.x_id not in existing
        ],
        ignore_conflicts=True,  # a concurrent poll of another stream may have stored the same post
    )
    mention_ids = list(Mention.objects.filter(x_id__in=x_ids).values_list("id", flat=True))
    MentionStream.objects.bulk_create(
        [MentionStream(mention_id=pk, stream_id=stream_id, matched_at=now) for pk in mention_ids],
        ignore_conflicts=True,
    )
    return StoreResult(created=len(mention_ids) - len(existing), duplicates=len(existing))
