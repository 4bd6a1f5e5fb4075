"""Storing parsed pages: bulk upserts of authors, threads and mentions, linked to the stream that matched.

The unique X id makes redelivery harmless: a page stored twice (a retried poll, two streams matching the
same post, two workers racing) adds each mention once. Callers run `store_page` inside the transaction
that also moves the stream's checkpoint (see polling.py).

Two paths with the same behaviour:
- PostgreSQL: three statements a page (authors, threads, mentions with their stream links), each an
  `INSERT ... SELECT FROM json_populate_recordset(...) ON CONFLICT ... RETURNING` sent through the cursor,
  without model instances: building and preparing ~400 of them a page cost more than the database work
  (bench/ingest). A row committed by another transaction after a statement's snapshot is absorbed by
  ON CONFLICT and found again by a follow-up read.
- Anything else (the embedded SQLite): the ORM's bulk_create.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from mentions.models import Author, Mention, MentionStream, Thread
from mentions.sources.base import InboundAuthor, InboundMention

AUTHOR_UPDATE_FIELDS = [
    "handle",
    "name",
    "description",
    "followers_count",
    "verified",
    "avatar_url",
    "updated_at",
]


@dataclass(frozen=True, slots=True)
class StoreResult:
    created: int
    duplicates: int


def _upsert_authors(authors: list[InboundAuthor], *, now: datetime) -> dict[str, int]:
    """Create or refresh authors; placeholders (profile missing from the response) never overwrite data."""
    complete = {a.x_id: a for a in authors if a.complete}
    placeholders = {
        a.x_id: a for a in authors if not a.complete and a.x_id not in complete
    }
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
            rows,
            update_conflicts=True,
            unique_fields=["x_id"],
            update_fields=AUTHOR_UPDATE_FIELDS,
        )
        for row in rows:
            pk: int | None = row.pk  # set by RETURNING where the backend supports it
            if pk is not None:
                ids[row.x_id] = pk
    if placeholders:
        Author.objects.bulk_create(
            [
                Author(
                    x_id=a.x_id,
                    handle=a.handle,
                    name=a.name,
                    first_seen_at=now,
                    updated_at=now,
                )
                for a in sorted(placeholders.values(), key=lambda a: a.x_id)
            ],
            ignore_conflicts=True,
        )
    missing = (complete.keys() | placeholders.keys()) - ids.keys()
    if missing:
        ids.update(Author.objects.filter(x_id__in=missing).values_list("x_id", "id"))
    return ids


def _thread_ids(
    mentions: list[InboundMention], author_ids: dict[str, int]
) -> dict[tuple[str, int], int]:
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
        conversation_id__in={c for c, _ in first_seen},
        author_id__in={a for _, a in first_seen},
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
    store = (
        _store_page_postgres
        if connection.vendor == "postgresql"
        else _store_page_portable
    )
    return store(
        account_id=account_id,
        stream_id=stream_id,
        mentions=unique,
        authors=authors,
        now=now,
    )


def _store_page_portable(
    *,
    account_id: int,
    stream_id: int,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    now: datetime,
) -> StoreResult:
    unique = mentions
    author_ids = _upsert_authors(authors, now=now)
    unique = [m for m in unique if m.author_x_id in author_ids]
    thread_ids = _thread_ids(unique, author_ids)
    x_ids = [m.x_id for m in unique]
    existing = set(
        Mention.objects.filter(x_id__in=x_ids).values_list("x_id", flat=True)
    )
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
    mention_ids = list(
        Mention.objects.filter(x_id__in=x_ids).values_list("id", flat=True)
    )
    MentionStream.objects.bulk_create(
        [
            MentionStream(mention_id=pk, stream_id=stream_id, matched_at=now)
            for pk in mention_ids
        ],
        ignore_conflicts=True,
    )
    return StoreResult(
        created=len(mention_ids) - len(existing), duplicates=len(existing)
    )


# --- PostgreSQL ------------------------------------------------------------------------------
#
# Each statement takes its rows as one JSON array parameter, expanded server-side with
# json_populate_recordset(NULL::<table>, ...) so that every column gets the table's own type. One string
# parameter keeps parsing and planning cheap (psycopg2 would spell a list as ARRAY[...] with one constant
# per element), and `raw` travels as JSON inside it instead of being encoded twice.
# Lookups of rows that already exist go through LATERAL ... LIMIT 1 so that they stay index probes: with the
# join form the planner picks a sequential scan of the whole table while its statistics still call it small.

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_UPSERT_AUTHORS = """
    INSERT INTO mentions_author AS a
        (x_id, handle, name, description, followers_count, verified, avatar_url, first_seen_at, updated_at)
    SELECT i.x_id, i.handle, i.name, i.description, i.followers_count, i.verified, i.avatar_url, %(now)s, %(now)s
    FROM json_populate_recordset(NULL::mentions_author, %(rows)s) AS i
    ON CONFLICT (x_id) DO UPDATE SET
        handle = EXCLUDED.handle, name = EXCLUDED.name, description = EXCLUDED.description,
        followers_count = EXCLUDED.followers_count, verified = EXCLUDED.verified,
        avatar_url = EXCLUDED.avatar_url, updated_at = EXCLUDED.updated_at
    RETURNING a.x_id, a.id
"""

_INSERT_PLACEHOLDERS = """
    INSERT INTO mentions_author
        (x_id, handle, name, description, followers_count, verified, avatar_url, first_seen_at, updated_at)
    SELECT i.x_id, i.handle, i.name, '', 0, false, '', %(now)s, %(now)s
    FROM json_populate_recordset(NULL::mentions_author, %(rows)s) AS i
    ON CONFLICT (x_id) DO NOTHING
    RETURNING x_id, id
"""

_SELECT_AUTHORS = (
    "SELECT x_id, id FROM mentions_author WHERE x_id = ANY(%(x_ids)s::varchar[])"
)

# Rows inserted come back from RETURNING; rows that already existed are read from the statement's snapshot
# (which does not show what this statement inserts, so nothing is returned twice). A row committed by
# another transaction after that snapshot is in neither: the caller reads those again (`_SELECT_THREADS`).
_UPSERT_THREADS = """
    WITH i AS (
        SELECT conversation_id, author_id, created_at FROM json_populate_recordset(NULL::mentions_thread, %(rows)s)
    ), inserted AS (
        INSERT INTO mentions_thread (conversation_id, author_id, created_at)
        SELECT conversation_id, author_id, created_at FROM i
        ON CONFLICT (conversation_id, author_id) DO NOTHING
        RETURNING conversation_id, author_id, id
    )
    SELECT conversation_id, author_id, id FROM inserted
    UNION ALL
    SELECT i.conversation_id, i.author_id, t.id
    FROM i CROSS JOIN LATERAL (
        SELECT id FROM mentions_thread t
        WHERE t.conversation_id = i.conversation_id AND t.author_id = i.author_id
        LIMIT 1
    ) AS t
"""

_SELECT_THREADS = """
    SELECT i.conversation_id, i.author_id, t.id
    FROM json_populate_recordset(NULL::mentions_thread, %(rows)s) AS i
    JOIN mentions_thread t USING (conversation_id, author_id)
"""

# Insert the new mentions and link new and existing ones to the stream, in one round trip. Returns
# (x_id, created) for every mention linked; one missing from the answer was committed by another
# transaction after this statement's snapshot, and `_LINK_LATE` links it.
_INSERT_MENTIONS = """
    WITH i AS (
        SELECT x_id, kind, author_id, thread_id, text, lang, created_at, conversation_id, in_reply_to_x_id,
               summons_brand, raw
        FROM json_populate_recordset(NULL::mentions_mention, %(rows)s)
    ), existing AS (
        SELECT m.id, i.x_id
        FROM i CROSS JOIN LATERAL (SELECT id FROM mentions_mention m WHERE m.x_id = i.x_id LIMIT 1) AS m
    ), inserted AS (
        INSERT INTO mentions_mention
            (x_id, kind, account_id, author_id, thread_id, text, lang, created_at, ingested_at, conversation_id,
             in_reply_to_x_id, summons_brand, raw, status, priority, priority_score, priority_reasons,
             is_priority_overridden, is_monitoring_suggested)
        SELECT i.x_id, i.kind, %(account)s, i.author_id, i.thread_id, i.text, i.lang, i.created_at, %(now)s,
               i.conversation_id, i.in_reply_to_x_id, i.summons_brand, i.raw, %(status)s, 2, 0, '[]', false, false
        FROM i
        WHERE NOT EXISTS (SELECT FROM existing e WHERE e.x_id = i.x_id)
        ON CONFLICT (x_id) DO NOTHING  -- a concurrent poll of another stream may have stored the same post
        RETURNING id, x_id
    ), linked AS (
        INSERT INTO mentions_mentionstream (mention_id, stream_id, matched_at)
        SELECT id, %(stream)s, %(now)s FROM (SELECT id FROM inserted UNION ALL SELECT id FROM existing) AS m
        ON CONFLICT (mention_id, stream_id) DO NOTHING
    )
    SELECT x_id, true FROM inserted
    UNION ALL
    SELECT x_id, false FROM existing
"""

_LINK_LATE = """
    INSERT INTO mentions_mentionstream (mention_id, stream_id, matched_at)
    SELECT id, %(stream)s, %(now)s FROM mentions_mention WHERE x_id = ANY(%(x_ids)s::varchar[])
    ON CONFLICT (mention_id, stream_id) DO NOTHING
"""


def _store_page_postgres(
    *,
    account_id: int,
    stream_id: int,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    now: datetime,
) -> StoreResult:
    complete = {a.x_id: a for a in authors if a.complete}
    placeholders = {
        a.x_id: a for a in authors if not a.complete and a.x_id not in complete
    }
    with connection.cursor() as cursor:
        author_ids: dict[str, int] = {}
        # Sorted so that two workers upserting overlapping authors lock rows in the same order (no deadlock).
        if complete:
            rows: list[dict[str, Any]] = [
                {
                    "x_id": a.x_id,
                    "handle": a.handle,
                    "name": a.name,
                    "description": a.description,
                    "followers_count": a.followers_count,
                    "verified": a.verified,
                    "avatar_url": a.avatar_url,
                }
                for a in sorted(complete.values(), key=lambda a: a.x_id)
            ]
            cursor.execute(_UPSERT_AUTHORS, {"now": now, "rows": _encode(rows)})
            author_ids.update(cursor.fetchall())
        if placeholders:
            rows = [
                {"x_id": a.x_id, "handle": a.handle, "name": a.name}
                for a in sorted(placeholders.values(), key=lambda a: a.x_id)
            ]
            cursor.execute(_INSERT_PLACEHOLDERS, {"now": now, "rows": _encode(rows)})
            author_ids.update(cursor.fetchall())
            known = sorted(placeholders.keys() - author_ids.keys())
            if known:  # placeholders for authors already stored: keep their data, read their ids
                cursor.execute(_SELECT_AUTHORS, {"x_ids": known})
                author_ids.update(cursor.fetchall())

        mentions = [m for m in mentions if m.author_x_id in author_ids]
        if not mentions:
            return StoreResult(created=0, duplicates=0)

        first_seen: dict[tuple[str, int], datetime] = {}
        for m in mentions:
            key = (m.conversation_id, author_ids[m.author_x_id])
            if key not in first_seen or m.created_at < first_seen[key]:
                first_seen[key] = m.created_at
        rows = [
            {"conversation_id": c, "author_id": a, "created_at": created.isoformat()}
            for (c, a), created in sorted(first_seen.items())
        ]
        cursor.execute(_UPSERT_THREADS, {"rows": _encode(rows)})
        thread_ids = {(c, a): pk for c, a, pk in cursor.fetchall()}
        late = [
            {"conversation_id": c, "author_id": a}
            for c, a in first_seen
            if (c, a) not in thread_ids
        ]
        if late:
            cursor.execute(_SELECT_THREADS, {"rows": _encode(late)})
            thread_ids.update({(c, a): pk for c, a, pk in cursor.fetchall()})

        rows = []
        for m in mentions:
            author_id = author_ids[m.author_x_id]
            rows.append(
                {
                    "x_id": m.x_id,
                    "kind": m.kind,
                    "author_id": author_id,
                    "thread_id": thread_ids[(m.conversation_id, author_id)],
                    "text": m.text,
                    "lang": m.lang,
                    "created_at": m.created_at.isoformat(),
                    "conversation_id": m.conversation_id,
                    "in_reply_to_x_id": m.in_reply_to_x_id,
                    "summons_brand": m.summons_brand,
                    "raw": m.raw,
                }
            )
        cursor.execute(
            _INSERT_MENTIONS,
            {
                "rows": _encode(rows),
                "account": account_id,
                "now": now,
                "status": Mention.Status.NEW.value,
                "stream": stream_id,
            },
        )
        linked = dict(cursor.fetchall())
        created = sum(1 for was_created in linked.values() if was_created)
        late_x_ids = [m.x_id for m in mentions if m.x_id not in linked]
        if late_x_ids:  # stored by a concurrent transaction: link them too, they count as duplicates
            cursor.execute(
                _LINK_LATE, {"stream": stream_id, "now": now, "x_ids": late_x_ids}
            )
    return StoreResult(created=created, duplicates=len(mentions) - created)
