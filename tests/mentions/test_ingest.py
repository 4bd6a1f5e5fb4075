"""store_page: one row per X id, fresh authors, threads per (conversation, author), stream links.

On PostgreSQL every test runs twice: through the raw-SQL fast path and through the portable ORM path that
SQLite uses, so the two cannot drift apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction

from mentions import ingest
from mentions.ingest import StoreResult
from mentions.models import Author, Mention, MentionStream, Stream, Thread, XAccount
from mentions.sources.base import InboundAuthor, InboundMention

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)

Store = Callable[..., StoreResult]


@pytest.fixture(params=["postgres", "portable"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    """`store_page` itself, and on PostgreSQL also with the portable path forced."""
    if request.param == "postgres":
        if connection.vendor != "postgresql":
            pytest.skip("the raw-SQL path runs on PostgreSQL only")
    else:
        monkeypatch.setattr(ingest, "_fast_path", lambda: False)
    return ingest.store_page


@pytest.fixture
def account(db: None) -> XAccount:
    return XAccount.objects.create(handle="Brand", x_user_id="1", access_token="t")


@pytest.fixture
def stream(account: XAccount) -> Stream:
    return Stream.objects.create(
        account=account, kind="search", name="s", query="brand"
    )


def author(x_id: str, **fields: Any) -> InboundAuthor:
    defaults: dict[str, Any] = {
        "handle": f"user{x_id}",
        "name": f"User {x_id}",
        "description": "likes coffee",
        "followers_count": 10,
        "verified": False,
        "avatar_url": f"https://pbs.twimg.com/profile_images/{x_id}_normal.jpg",
    }
    return InboundAuthor(x_id=x_id, **{**defaults, **fields})


def placeholder(x_id: str) -> InboundAuthor:
    return InboundAuthor(x_id=x_id, handle=f"id{x_id}", name="", complete=False)


def mention(
    x_id: str,
    author_x_id: str,
    *,
    conversation: str | None = None,
    minutes: int = 0,
    **fields: Any,
) -> InboundMention:
    raw = {
        "id": x_id,
        "text": f"@Brand help {x_id}",
        "author_id": author_x_id,
        "entities": {"mentions": []},
    }
    values: dict[str, Any] = {
        "kind": "post",
        "text": f"@Brand help {x_id}",
        "lang": "en",
        "created_at": T0 + timedelta(minutes=minutes),
        "author_x_id": author_x_id,
        "conversation_id": conversation or x_id,
        "in_reply_to_x_id": "",
        "summons_brand": True,
        "raw": raw,
    }
    return InboundMention(x_id=x_id, **{**values, **fields})


def save(
    store: Store,
    stream: Stream,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    **kw: Any,
) -> StoreResult:
    with transaction.atomic():
        return store(
            account_id=stream.account_id,
            stream_id=stream.pk,
            mentions=mentions,
            authors=authors,
            now=kw.get("now", NOW),
        )


@pytest.mark.django_db
def test_it_stores_every_field_of_a_new_mention(store: Store, stream: Stream) -> None:
    raw = {
        "id": "100",
        "text": 'héllo @Brand 🙂 "quoted" \\ back',
        "nested": {"list": [1, 2.5, None, True]},
    }
    post = mention(
        "100",
        "7",
        conversation="90",
        text=raw["text"],
        lang="fr",
        in_reply_to_x_id="90",
        summons_brand=False,
        raw=raw,
    )

    result = save(store, stream, [post], [author("7")])

    assert result == StoreResult(created=1, duplicates=0)
    stored = Mention.objects.get()
    assert stored.x_id == "100"
    assert stored.kind == "post"
    assert stored.account_id == stream.account_id
    assert stored.author.x_id == "7"
    assert stored.text == raw["text"]
    assert stored.lang == "fr"
    assert stored.created_at == T0
    assert stored.ingested_at == NOW
    assert stored.conversation_id == "90"
    assert stored.in_reply_to_x_id == "90"
    assert stored.summons_brand is False
    assert stored.raw == raw
    assert stored.status == Mention.Status.NEW
    assert stored.assignee is None
    assert stored.thread.conversation_id == "90"
    assert list(
        MentionStream.objects.values_list("mention_id", "stream_id", "matched_at")
    ) == [(stored.pk, stream.pk, NOW)]


@pytest.mark.django_db
def test_it_stores_each_mention_once_when_a_page_is_redelivered(
    store: Store, stream: Stream
) -> None:
    page = [mention("101", "7"), mention("102", "8")]
    authors = [author("7"), author("8")]

    first = save(store, stream, page, authors)
    second = save(store, stream, page, authors)

    assert first == StoreResult(created=2, duplicates=0)
    assert second == StoreResult(created=0, duplicates=2)
    assert Mention.objects.count() == 2
    assert MentionStream.objects.count() == 2


@pytest.mark.django_db
def test_it_counts_new_and_redelivered_mentions_of_one_page_apart(
    store: Store, stream: Stream
) -> None:
    save(store, stream, [mention("101", "7"), mention("102", "7")], [author("7")])

    result = save(
        store,
        stream,
        [mention("103", "7"), mention("102", "7"), mention("104", "8")],
        [author("7"), author("8")],
    )

    assert result == StoreResult(created=2, duplicates=1)
    assert sorted(Mention.objects.values_list("x_id", flat=True)) == [
        "101",
        "102",
        "103",
        "104",
    ]


@pytest.mark.django_db
def test_it_stores_a_post_repeated_within_one_page_once(
    store: Store, stream: Stream
) -> None:
    result = save(
        store,
        stream,
        [mention("101", "7"), mention("101", "7"), mention("102", "7")],
        [author("7")],
    )

    assert result == StoreResult(created=2, duplicates=0)
    assert Mention.objects.count() == 2


@pytest.mark.django_db
def test_an_empty_page_stores_nothing(store: Store, stream: Stream) -> None:
    assert save(store, stream, [], [author("7")]) == StoreResult(
        created=0, duplicates=0
    )
    assert Mention.objects.count() == 0


@pytest.mark.django_db
def test_it_links_a_stored_mention_to_a_second_stream_that_matches_it(
    store: Store, stream: Stream, account: XAccount
) -> None:
    mentions_stream = Stream.objects.create(
        account=account, kind="mentions", name="@mentions"
    )
    save(store, stream, [mention("101", "7")], [author("7")])

    result = save(
        store,
        mentions_stream,
        [mention("101", "7"), mention("102", "7")],
        [author("7")],
    )

    assert result == StoreResult(created=1, duplicates=1)
    links = set(MentionStream.objects.values_list("mention__x_id", "stream_id"))
    assert links == {
        ("101", stream.pk),
        ("101", mentions_stream.pk),
        ("102", mentions_stream.pk),
    }


@pytest.mark.django_db
def test_it_refreshes_an_author_with_the_latest_profile(
    store: Store, stream: Stream
) -> None:
    save(store, stream, [mention("101", "7")], [author("7")])
    later = NOW + timedelta(hours=1)

    fresh = author(
        "7",
        handle="renamed",
        name="New Name",
        description="new bio",
        followers_count=99,
        verified=True,
        avatar_url="",
    )
    save(store, stream, [mention("102", "7")], [fresh], now=later)

    stored = Author.objects.get()
    assert (
        stored.handle,
        stored.name,
        stored.description,
        stored.followers_count,
        stored.verified,
    ) == (
        "renamed",
        "New Name",
        "new bio",
        99,
        True,
    )
    assert stored.avatar_url == ""
    assert stored.first_seen_at == NOW
    assert stored.updated_at == later
    assert set(Mention.objects.values_list("author_id", flat=True)) == {stored.pk}


@pytest.mark.django_db
def test_a_placeholder_author_does_not_overwrite_a_known_profile(
    store: Store, stream: Stream
) -> None:
    save(
        store,
        stream,
        [mention("101", "7")],
        [author("7", followers_count=500, verified=True)],
    )

    result = save(
        store,
        stream,
        [mention("102", "7")],
        [placeholder("7")],
        now=NOW + timedelta(hours=1),
    )

    assert result == StoreResult(created=1, duplicates=0)
    stored = Author.objects.get()
    assert (stored.handle, stored.name, stored.followers_count, stored.verified) == (
        "user7",
        "User 7",
        500,
        True,
    )
    assert stored.updated_at == NOW
    assert Mention.objects.get(x_id="102").author_id == stored.pk


@pytest.mark.django_db
def test_a_placeholder_creates_an_author_that_a_later_profile_completes(
    store: Store, stream: Stream
) -> None:
    save(store, stream, [mention("101", "7")], [placeholder("7")])
    created = Author.objects.get()
    assert (
        created.handle,
        created.name,
        created.description,
        created.followers_count,
    ) == ("id7", "", "", 0)

    save(store, stream, [mention("102", "7")], [author("7")])

    completed = Author.objects.get()
    assert completed.pk == created.pk
    assert (completed.handle, completed.name) == ("user7", "User 7")


@pytest.mark.django_db
def test_a_complete_profile_wins_over_a_placeholder_in_the_same_page(
    store: Store, stream: Stream
) -> None:
    save(store, stream, [mention("101", "7")], [placeholder("7"), author("7")])

    assert Author.objects.get().handle == "user7"


@pytest.mark.django_db
def test_posts_of_one_author_in_one_conversation_share_a_thread(
    store: Store, stream: Stream
) -> None:
    save(
        store,
        stream,
        [
            mention("102", "7", conversation="100", minutes=5),
            mention("101", "7", conversation="100", minutes=1),
            mention("103", "8", conversation="100", minutes=3),
            mention("104", "7", conversation="200", minutes=4),
        ],
        [author("7"), author("8")],
    )
    save(
        store,
        stream,
        [mention("105", "7", conversation="100", minutes=9)],
        [author("7")],
    )

    threads = {m.x_id: m.thread_id for m in Mention.objects.all()}
    assert threads["101"] == threads["102"] == threads["105"]
    assert len({threads["101"], threads["103"], threads["104"]}) == 3
    assert Thread.objects.count() == 3
    first = Thread.objects.get(pk=threads["101"])
    assert (first.conversation_id, first.author.x_id, first.created_at) == (
        "100",
        "7",
        T0 + timedelta(minutes=1),
    )


@pytest.mark.django_db
def test_it_skips_a_mention_whose_author_is_missing_from_the_page(
    store: Store, stream: Stream
) -> None:
    result = save(
        store, stream, [mention("101", "7"), mention("102", "9")], [author("7")]
    )

    assert result == StoreResult(created=1, duplicates=0)
    assert list(Mention.objects.values_list("x_id", flat=True)) == ["101"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("post", "threads"),
    [
        pytest.param(mention("101", "7", conversation="100"), 2, id="mention"),
        pytest.param(mention("102", "8", conversation="102"), 3, id="thread"),
    ],
)
def test_a_row_committed_by_a_racing_stream_is_absorbed_and_still_linked(
    account: XAccount, post: InboundMention, threads: int
) -> None:
    """The second transaction blocks on the first one's uncommitted row inside the page statement, so its
    snapshot predates that row: ON CONFLICT absorbs it, and a second run of the statement (new snapshot)
    finds its id and links it."""
    first = Stream.objects.create(
        account=account, kind="search", name="a", query="brand"
    )
    second = Stream.objects.create(account=account, kind="mentions", name="b")
    # Known authors, and a thread for conversation 100 by author 7; placeholders then take no row locks.
    ingest.store_page(
        account_id=account.pk,
        stream_id=first.pk,
        mentions=[mention("99", "7", conversation="100"), mention("98", "8")],
        authors=[author("7"), author("8")],
        now=NOW,
    )
    placeholders = [placeholder("7"), placeholder("8")]
    stored_first = threading.Event()
    release_first = threading.Event()
    results: dict[str, StoreResult] = {}
    statements: list[str] = []
    errors: list[BaseException] = []

    def record(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    def run(name: str, stream: Stream, before_commit: Callable[[], None]) -> None:
        try:
            with (
                connection.execute_wrapper(record)
                if name == "second"
                else nullcontext(),
                transaction.atomic(),
            ):
                results[name] = ingest.store_page(
                    account_id=account.pk,
                    stream_id=stream.pk,
                    mentions=[post],
                    authors=placeholders,
                    now=NOW,
                )
                before_commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def hold() -> None:
        stored_first.set()
        release_first.wait(20)

    def second_is_blocked() -> bool:
        with (
            connection.cursor() as cursor
        ):  # outside any transaction: pg_stat_activity is not cached
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(cursor.fetchone()[0])

    a = threading.Thread(target=run, args=("first", first, hold))
    a.start()
    assert stored_first.wait(10)
    b = threading.Thread(target=run, args=("second", second, lambda: None))
    b.start()
    deadline = time.monotonic() + 10
    while not second_is_blocked() and time.monotonic() < deadline:
        time.sleep(0.01)
    release_first.set()
    a.join(20)
    b.join(20)

    assert not errors
    assert results == {
        "first": StoreResult(created=1, duplicates=0),
        "second": StoreResult(created=0, duplicates=1),
    }
    assert statements.count(ingest._EXECUTE) == 2  # the page statement ran twice
    assert Mention.objects.count() == 3
    assert Thread.objects.count() == threads
    assert set(
        MentionStream.objects.filter(mention__x_id=post.x_id).values_list(
            "stream_id", flat=True
        )
    ) == {
        first.pk,
        second.pk,
    }


# --- The fence: the stream update that commits a page -------------------------------------------


def fenced_store(
    stream: Stream,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    *,
    owner: str,
    fields: dict[str, Any],
) -> StoreResult:
    prepared = ingest.prepare_page(
        account_id=stream.account_id,
        stream_id=stream.pk,
        mentions=mentions,
        authors=authors,
        enrich=False,
    )
    return ingest.store_prepared(
        prepared,
        now=NOW,
        fence=ingest.Fence(stream_id=stream.pk, owner=owner, fields=fields),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("empty", [False, True], ids=["page", "empty page"])
def test_the_fence_moves_the_stream_with_the_page(
    store: Store, stream: Stream, empty: bool
) -> None:
    Stream.objects.filter(pk=stream.pk).update(
        lease_owner="me", since_id="5", last_error="kept"
    )
    reset = NOW + timedelta(minutes=15)
    checkpoint = {"pending": "99", "oldest_stored": "10", "note": 'a "quoted" \\ é'}
    fields = {
        "checkpoint": checkpoint,
        "lease_expires_at": NOW + timedelta(minutes=5),
        "rate_limit_remaining": 7,
        "rate_limit_reset_at": reset,
        "backfill_completed_at": NOW,
    }
    mentions = [] if empty else [mention("10", "500")]

    with transaction.atomic():
        result = fenced_store(
            stream, mentions, [author("500")], owner="me", fields=fields
        )

    assert result.fenced is True
    stream.refresh_from_db()
    assert stream.checkpoint == checkpoint
    assert stream.lease_expires_at == NOW + timedelta(minutes=5)
    assert (stream.rate_limit_remaining, stream.rate_limit_reset_at) == (7, reset)
    assert stream.backfill_completed_at == NOW
    assert (stream.since_id, stream.last_error) == ("5", "kept")  # not named: kept
    assert Mention.objects.count() == (0 if empty else 1)


@pytest.mark.django_db
def test_the_last_pages_fence_clears_the_checkpoint_and_moves_the_cursor(
    store: Store, stream: Stream
) -> None:
    Stream.objects.filter(pk=stream.pk).update(
        lease_owner="me", checkpoint={"pending": "11"}, rate_limit_remaining=3
    )

    with transaction.atomic():
        result = fenced_store(
            stream,
            [mention("11", "500")],
            [author("500")],
            owner="me",
            fields={"checkpoint": None, "since_id": "11"},
        )

    assert result.fenced is True
    stream.refresh_from_db()
    assert stream.checkpoint is None  # SQL NULL, as the JSONField writes None
    assert Stream.objects.filter(pk=stream.pk, checkpoint__isnull=True).exists()
    assert stream.since_id == "11"
    assert stream.rate_limit_remaining == 3


@pytest.mark.django_db
def test_a_fence_on_a_stream_leased_by_another_worker_matches_nothing(
    store: Store, stream: Stream
) -> None:
    Stream.objects.filter(pk=stream.pk).update(lease_owner="them", since_id="5")

    def store_and_roll_back() -> StoreResult:
        with (
            transaction.atomic()
        ):  # what the poller does when the fence matched nothing
            result = fenced_store(
                stream,
                [mention("10", "500"), mention("11", "501")],
                [author("500"), author("501")],
                owner="me",
                fields={"checkpoint": None, "since_id": "11"},
            )
            transaction.set_rollback(True)
        return result

    result = store_and_roll_back()

    assert result.fenced is False
    assert result.created == 0
    stream.refresh_from_db()
    assert (stream.since_id, stream.lease_owner) == ("5", "them")
    assert Mention.objects.count() == 0
    assert MentionStream.objects.count() == 0


@pytest.mark.django_db
def test_a_fence_with_a_field_the_statement_does_not_set_goes_through_the_orm(
    store: Store, stream: Stream
) -> None:
    Stream.objects.filter(pk=stream.pk).update(lease_owner="me")

    with transaction.atomic():
        result = fenced_store(
            stream,
            [mention("10", "500")],
            [author("500")],
            owner="me",
            fields={"since_id": "10", "last_error": "set by the ORM"},
        )

    assert result.fenced is True
    stream.refresh_from_db()
    assert (stream.since_id, stream.last_error) == ("10", "set by the ORM")
