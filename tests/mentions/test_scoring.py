"""Priority scoring: the pure rules of `score()`, the fast VADER port, and the wiring into ingest.

The first part needs no database. The wiring tests store pages through `store_page` (on PostgreSQL through
both the raw-SQL path and the portable one) and through a real poll of the sandbox X API.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from mentions import ingest, polling, scoring
from mentions.escalation import services as escalation
from mentions.models import Mention, PriorityKeyword, Stream, XAccount
from mentions.sandbox import services as sandbox
from mentions.scoring import Keyword, score
from mentions.sla import services as sla
from mentions.sources.base import InboundAuthor, InboundMention

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TWCS_CSV = Path(
    os.environ.get("EARSHOT_TWCS_CSV", "/work/shared/data/twcs/twcs_subset.csv")
)
KEYWORDS = [Keyword("refund", 20), Keyword("lawyer", 40), Keyword("charged twice", 25)]


def reasons(result: scoring.Score) -> dict[str, int]:
    return dict(result.reasons)


# --- score(): pure -------------------------------------------------------------------------


def test_a_dm_outranks_a_direct_mention_which_outranks_a_passing_hit() -> None:
    text = "my order 123 has not arrived"
    dm = score(text=text, kind="dm", summons_brand=True, sentiment=0.0)
    direct = score(text=text, kind="post", summons_brand=True, sentiment=0.0)
    passing = score(text=text, kind="post", summons_brand=False, sentiment=0.0)

    assert dm.points > direct.points > passing.points
    assert reasons(dm) == {"Direct message": 30}
    assert reasons(direct) == {"Direct @mention": 20}
    assert reasons(passing) == {"Passing mention (no @mention)": -10}
    assert (dm.priority, direct.priority, passing.priority) == (
        Mention.Priority.NORMAL,
        Mention.Priority.NORMAL,
        Mention.Priority.LOW,
    )


@pytest.mark.parametrize(
    ("followers", "points"),
    [(999, None), (1_000, 10), (9_999, 10), (10_000, 20), (250_000, 30)],
)
def test_reach_adds_points_by_follower_steps(
    followers: int, points: int | None
) -> None:
    result = score(
        text="hi", kind="post", summons_brand=True, followers=followers, sentiment=0.0
    )

    reach = [p for r, p in result.reasons if r.startswith("Reach")]
    assert reach == ([] if points is None else [points])


def test_engagement_counts_likes_reposts_replies_and_quotes_from_public_metrics() -> (
    None
):
    metrics = {
        "like_count": 80,
        "retweet_count": 15,
        "reply_count": 4,
        "quote_count": 1,
        "impression_count": 99_999,  # views are not engagement
    }

    result = score(
        text="hi", kind="post", summons_brand=True, metrics=metrics, sentiment=0.0
    )

    assert ("Engagement: 100 likes, reposts and replies", 20) in result.reasons
    low = score(
        text="hi",
        kind="post",
        summons_brand=True,
        metrics={"like_count": 19, "retweet_count": "many"},
        sentiment=0.0,
    )
    assert not [r for r, _ in low.reasons if r.startswith("Engagement")]


def test_a_verified_author_adds_points() -> None:
    plain = score(text="hi", kind="post", summons_brand=True, sentiment=0.0)
    verified = score(
        text="hi", kind="post", summons_brand=True, verified=True, sentiment=0.0
    )

    assert verified.points - plain.points == 15
    assert ("Verified author", 15) in verified.reasons


def test_negative_tone_adds_points_and_a_very_negative_one_more() -> None:
    slightly = score(text="x", kind="post", summons_brand=True, sentiment=-0.3)
    very = score(text="x", kind="post", summons_brand=True, sentiment=-0.8)
    neutral = score(text="x", kind="post", summons_brand=True, sentiment=0.0)

    assert ("Negative tone (-0.30)", 10) in slightly.reasons
    assert ("Very negative tone (-0.80)", 25) in very.reasons
    assert neutral.reasons == (("Direct @mention", 20),)


def test_sentiment_is_vaders_compound_score() -> None:
    text = "This is the WORST service ever, I am so angry!!!"

    result = score(text=text, kind="post", summons_brand=True)

    assert (
        result.sentiment
        == SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    )
    assert result.sentiment is not None
    assert result.sentiment < -0.6


def test_admin_keywords_match_at_word_starts_case_insensitively_once_each() -> None:
    result = score(
        text="REFUND please, refunds are overdue. I was Charged Twice. My lawyer knows.",
        kind="post",
        summons_brand=True,
        keywords=KEYWORDS,
        sentiment=0.0,
    )

    assert [r for r in result.reasons if r[0].startswith("Keyword")] == [
        ("Keyword “refund”", 20),
        ("Keyword “charged twice”", 25),
        ("Keyword “lawyer”", 40),
    ]


def test_a_keyword_inside_another_word_does_not_match() -> None:
    result = score(
        text="there is an issue with my pursuit",
        kind="post",
        summons_brand=True,
        keywords=[Keyword("sue", 50), Keyword("suit", 50)],
        sentiment=0.0,
    )

    assert not [r for r, _ in result.reasons if r.startswith("Keyword")]


@pytest.mark.parametrize(
    ("points", "priority"),
    [
        (9, Mention.Priority.LOW),
        (10, Mention.Priority.NORMAL),
        (34, Mention.Priority.NORMAL),
        (35, Mention.Priority.HIGH),
        (59, Mention.Priority.HIGH),
        (60, Mention.Priority.URGENT),
    ],
)
def test_the_total_maps_to_a_priority(points: int, priority: int) -> None:
    # A passing hit (-10) plus one keyword worth the rest.
    result = score(
        text="outage",
        kind="post",
        summons_brand=False,
        keywords=[Keyword("outage", points + 10)],
        sentiment=0.0,
    )

    assert result.points == points
    assert result.priority == priority


def test_an_angry_verified_customer_threatening_a_lawyer_in_a_dm_is_urgent() -> None:
    result = score(
        text="Third time asking. I want my refund or my lawyer will call you. Terrible.",
        kind="dm",
        summons_brand=True,
        followers=12_000,
        verified=True,
        keywords=KEYWORDS,
    )

    assert result.priority == Mention.Priority.URGENT
    assert result.reasons_json()[0] == {"reason": "Direct message", "points": 30}
    assert sum(r["points"] for r in result.reasons_json()) == result.points


def test_the_score_fits_the_smallint_column() -> None:
    result = score(
        text="boom",
        kind="post",
        summons_brand=True,
        keywords=[Keyword("boom", 32_767)],
        sentiment=0.0,
    )

    assert result.points == 32_767


@pytest.mark.parametrize(
    ("text", "kind", "summons", "suggested"),
    [
        pytest.param(
            "love my new acme toaster", "post", False, True, id="passing-positive"
        ),
        pytest.param(
            "does the acme toaster do bagels? love it",
            "post",
            False,
            False,
            id="question",
        ),
        pytest.param("@Acme love my new toaster", "post", True, False, id="at-mention"),
        pytest.param("love my new toaster", "dm", True, False, id="dm"),
        pytest.param("my acme toaster is awful", "post", False, False, id="negative"),
        pytest.param("bought an acme toaster", "post", False, False, id="neutral"),
    ],
)
def test_only_positive_passing_mentions_without_a_question_are_suggested_for_monitoring(
    text: str, kind: str, summons: bool, suggested: bool
) -> None:
    assert (
        score(text=text, kind=kind, summons_brand=summons).is_monitoring_suggested
        is suggested
    )


EDGE_TEXTS = [
    "but good but bad",
    "no good",
    "no no no",
    "kind of good",
    "not bad at all",
    "NEVER so good",
    "never this bad",
    "least good",
    "at least good",
    "very least good",
    "the shit",
    "yeah right, great",
    "without doubt good",
    "I don't like it BUT it is GREAT!!!",
    "sort of good",
    "very very good",
    "😀 great",
    "😀😀x😀 😀 awful",
    "great🙏",
    "",
    "   ",
    "!!!???",
    "good?? bad???? ok!",
    "kiss of death for this good phone",
    "bad ass good",
]


def _twcs_sample(limit: int = 5_000) -> list[str]:
    if not TWCS_CSV.is_file():
        return []
    with TWCS_CSV.open(newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    return texts[:: max(1, len(texts) // limit)]


def test_the_fast_analyzer_gives_vaders_exact_compound_scores() -> None:
    original = SentimentIntensityAnalyzer()
    fast = scoring.analyzer()
    texts = EDGE_TEXTS + _twcs_sample()

    differing = [
        t for t in texts if fast.compound(t) != original.polarity_scores(t)["compound"]
    ]

    assert differing == []


def test_the_analyzer_is_built_once_per_process() -> None:
    assert scoring.analyzer() is scoring.analyzer()


# --- Wiring into ingest ----------------------------------------------------------------------

Store = Callable[..., ingest.StoreResult]


@pytest.fixture(params=["postgres", "portable"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    if request.param == "postgres":
        if connection.vendor != "postgresql":
            pytest.skip("the raw-SQL path runs on PostgreSQL only")
    else:
        monkeypatch.setattr(ingest, "_fast_path", lambda: False)
    return ingest.store_page


@pytest.fixture
def stream(db: None) -> Stream:
    account = XAccount.objects.create(handle="Brand", x_user_id="1", access_token="t")
    return Stream.objects.create(
        account=account, kind="search", name="s", query="brand"
    )


def author(x_id: str, **fields: Any) -> InboundAuthor:
    values: dict[str, Any] = {"handle": f"user{x_id}", "name": f"User {x_id}"}
    return InboundAuthor(x_id=x_id, **{**values, **fields})


def post(
    x_id: str, text: str, *, author_x_id: str = "7", **fields: Any
) -> InboundMention:
    values: dict[str, Any] = {
        "kind": "post",
        "lang": "en",
        "created_at": NOW - timedelta(minutes=5),
        "author_x_id": author_x_id,
        "conversation_id": x_id,
        "in_reply_to_x_id": "",
        "summons_brand": True,
        "raw": {"id": x_id, "text": text, "public_metrics": {"like_count": 150}},
    }
    return InboundMention(x_id=x_id, text=text, **{**values, **fields})


def save(
    store: Store,
    stream: Stream,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    **kw: Any,
) -> ingest.StoreResult:
    with transaction.atomic():
        return store(
            account_id=stream.account_id,
            stream_id=stream.pk,
            mentions=mentions,
            authors=authors,
            now=NOW,
            **kw,
        )


@pytest.mark.django_db
def test_enriched_ingest_stores_the_score_with_the_new_mention(
    store: Store, stream: Stream
) -> None:
    text = "@Brand I want a refund NOW, this is terrible"

    save(
        store,
        stream,
        [post("100", text)],
        [author("7", followers_count=20_000, verified=True)],
        keywords=KEYWORDS,
    )

    stored = Mention.objects.get()
    expected = score(
        text=text,
        kind="post",
        summons_brand=True,
        followers=20_000,
        verified=True,
        metrics={"like_count": 150},
        keywords=KEYWORDS,
    )
    assert stored.priority == expected.priority == Mention.Priority.URGENT
    assert stored.priority_score == expected.points
    assert stored.priority_reasons == expected.reasons_json()
    assert stored.sentiment == expected.sentiment
    assert stored.is_monitoring_suggested is False
    assert stored.is_priority_overridden is False


@pytest.mark.django_db
def test_a_positive_passing_post_is_stored_as_suggested_for_monitoring(
    store: Store, stream: Stream
) -> None:
    save(
        store,
        stream,
        [post("100", "love my acme toaster", summons_brand=False)],
        [author("7")],
        keywords=[],
    )

    stored = Mention.objects.get()
    assert stored.is_monitoring_suggested is True
    assert stored.status == Mention.Status.NEW  # a suggestion only, never closed


@pytest.mark.django_db
def test_unenriched_ingest_leaves_the_mention_unscored(
    store: Store, stream: Stream
) -> None:
    save(store, stream, [post("100", "@Brand refund!")], [author("7")], enrich=False)

    stored = Mention.objects.get()
    assert (stored.priority, stored.priority_score, stored.priority_reasons) == (
        Mention.Priority.NORMAL,
        0,
        [],
    )
    assert stored.sentiment is None


@pytest.mark.django_db
def test_an_agents_priority_override_survives_a_redelivery(
    store: Store, stream: Stream
) -> None:
    page = [post("100", "@Brand lawyer lawyer lawyer, awful")]
    save(store, stream, page, [author("7")], keywords=KEYWORDS)
    Mention.objects.update(
        priority=Mention.Priority.LOW,
        priority_score=-5,
        priority_reasons=[],
        is_priority_overridden=True,
    )

    result = save(store, stream, page, [author("7")], keywords=KEYWORDS)

    assert (result.created, result.duplicates) == (0, 1)
    stored = Mention.objects.get()
    assert (stored.priority, stored.priority_score, stored.is_priority_overridden) == (
        Mention.Priority.LOW,
        -5,
        True,
    )


@pytest.mark.django_db
def test_keywords_are_read_from_the_active_admin_keywords_when_not_given(
    store: Store, stream: Stream
) -> None:
    PriorityKeyword.objects.create(term="Outage", points=33)
    PriorityKeyword.objects.create(term="refund", points=20, is_active=False)

    save(store, stream, [post("100", "outage again? and my refund")], [author("7")])

    reasons = Mention.objects.get().priority_reasons
    assert {"reason": "Keyword “outage”", "points": 33} in reasons
    assert not [r for r in reasons if "refund" in r["reason"]]


@pytest.mark.django_db
def test_enriched_ingest_starts_clocks_then_rules_for_the_new_ids_in_the_same_transaction(
    store: Store, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, list[int], datetime, bool]] = []

    def recorder(name: str) -> Callable[..., None]:
        def record(
            mention_ids: Sequence[int],
            *,
            now: datetime,
            known: Any = None,
            rules: Any = None,
        ) -> None:
            in_atomic = transaction.get_connection().in_atomic_block
            calls.append((name, sorted(mention_ids), now, in_atomic))

        return record

    monkeypatch.setattr(sla, "start_clocks", recorder("start_clocks"))
    monkeypatch.setattr(escalation, "evaluate_mentions", recorder("evaluate_mentions"))
    save(store, stream, [post("100", "@Brand hi")], [author("7")], keywords=[])
    first = Mention.objects.get().pk

    result = save(
        store,
        stream,
        [post("100", "@Brand hi"), post("101", "@Brand again")],
        [author("7")],
        keywords=[],
    )

    second = Mention.objects.get(x_id="101").pk
    assert result.new_ids == (second,)
    if ingest._fast_path():
        # PostgreSQL plans the clocks before the insert and writes them in the page's statement
        # (tests/mentions/test_ingest_sla.py); only the rules run afterwards.
        assert calls == [
            ("evaluate_mentions", [first], NOW, True),
            ("evaluate_mentions", [second], NOW, True),
        ]
    else:
        assert calls == [
            ("start_clocks", [first], NOW, True),
            ("evaluate_mentions", [first], NOW, True),
            ("start_clocks", [second], NOW, True),
            ("evaluate_mentions", [second], NOW, True),
        ]
    calls.clear()
    save(store, stream, [post("100", "@Brand hi")], [author("7")], keywords=[])
    save(store, stream, [post("102", "@Brand new")], [author("7")], enrich=False)
    assert calls == []  # nothing new, or not enriched: neither is called


def test_on_postgres_a_placeholder_authors_clocks_start_from_the_stored_profile(
    store: Store, stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, list[int]]] = []

    def record(mention_ids: Sequence[int], *, now: datetime) -> None:
        calls.append(("start_clocks", sorted(mention_ids)))

    monkeypatch.setattr(sla, "start_clocks", record)
    placeholder = InboundAuthor(x_id="8", handle="id8", name="", complete=False)

    save(
        store,
        stream,
        [post("100", "@Brand hi"), post("101", "@Brand hello", author_x_id="8")],
        [author("7"), placeholder],
        keywords=[],
    )

    ids = dict(Mention.objects.values_list("x_id", "id"))
    expected = [ids["101"]] if ingest._fast_path() else sorted(ids.values())
    assert calls == [("start_clocks", expected)]


@pytest.mark.django_db(transaction=True)
def test_a_poll_stores_scored_mentions(brand: dict[str, Any]) -> None:
    PriorityKeyword.objects.create(term="lawyer", points=40)
    angry = sandbox.create_user("angry", "Angry Customer", followers_count=150_000)
    happy = sandbox.create_user("happy", "Happy Customer", followers_count=3)
    urgent = sandbox.create_post(
        angry, "@AcmeSupport you broke my order AGAIN, talking to my lawyer. Awful!"
    )
    fan = sandbox.create_post(happy, "acme makes the best toasters, love them")

    polling.poll_stream(brand["streams"]["search"].pk)

    stored = Mention.objects.get(x_id=urgent.x_id)
    assert stored.priority == Mention.Priority.URGENT
    assert {"reason": "Keyword “lawyer”", "points": 40} in stored.priority_reasons
    assert {
        "reason": "Reach: 150,000 followers",
        "points": 30,
    } in stored.priority_reasons
    assert stored.sentiment is not None
    assert stored.sentiment < 0
    monitored = Mention.objects.get(x_id=fan.x_id)
    assert monitored.is_monitoring_suggested is True
    assert monitored.priority == Mention.Priority.LOW


# --- Admin keywords ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_adds_a_priority_keyword_in_the_django_admin(
    client: Any, admin_user: Any
) -> None:
    client.force_login(admin_user)

    listing = client.get("/admin/mentions/prioritykeyword/")
    response = client.post(
        "/admin/mentions/prioritykeyword/add/",
        {"term": "chargeback", "points": "35", "is_active": "on"},
    )

    assert listing.status_code == 200
    assert response.status_code == 302
    assert scoring.active_keywords() == [Keyword("chargeback", 35)]


@pytest.mark.django_db
def test_an_agent_cannot_open_the_priority_keywords_admin(agent_client: Any) -> None:
    response = agent_client.get("/admin/mentions/prioritykeyword/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
