"""Clocks planned before the insert (PostgreSQL ingest) equal the clocks start_clocks starts after it.

On PostgreSQL, ingest matches each new mention to a policy and computes its due times while it prepares
the page (sla.start.plan_new), and its one statement picks first or next response from the thread's
answers, writes the mention's due time and inserts the clocks. The reference is sla.start_clocks on the
stored rows (what the portable path runs). Both run on the same page from the same database state; every
clock column and the mention's summary must agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from mentions import ingest
from mentions.models import Author, Mention, Stream, XAccount
from mentions.sla import services as sla
from mentions.sla.models import BusinessCalendar, OpenInterval, SlaClock, SlaPolicy
from mentions.sources.base import InboundAuthor, InboundMention

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="the planned path is PostgreSQL's"
    ),
]

FRIDAY_1630_BERLIN = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)


class RollbackError(Exception):
    pass


@pytest.fixture
def stream(db: None) -> Stream:
    account = XAccount.objects.create(handle="Brand", x_user_id="1", access_token="t")
    return Stream.objects.create(
        account=account, kind="search", name="s", query="brand"
    )


@pytest.fixture
def policies(stream: Stream) -> None:
    always = BusinessCalendar.objects.get_or_create(
        name="24/7", defaults={"time_zone": "UTC", "is_always_open": True}
    )[0]
    berlin = BusinessCalendar.objects.create(
        name="Berlin office", time_zone="Europe/Berlin", holiday_country="DE"
    )
    OpenInterval.objects.bulk_create(
        OpenInterval(calendar=berlin, weekday=d, opens_at=time(9), closes_at=time(17))
        for d in range(5)
    )
    SlaPolicy.objects.all().delete()

    def policy(name: str, position: int, **fields: Any) -> None:
        defaults: dict[str, Any] = {
            "calendar": always,
            "first_response_minutes": 60,
            "next_response_minutes": 60,
            "resolution_minutes": 24 * 60,
            "warning_share": 75,
        }
        SlaPolicy.objects.create(name=name, position=position, **{**defaults, **fields})

    policy("Default", 1000, is_default=True)
    policy(
        "VIP",
        1,
        conditions={"min_followers": 10_000},
        calendar=berlin,
        first_response_minutes=30,
        first_response_business=True,
        next_response_minutes=120,
        next_response_business=True,
        resolution_minutes=None,
    )
    policy(
        "DMs",
        2,
        conditions={"kinds": ["dm"]},
        first_response_minutes=15,
        next_response_minutes=None,
        resolution_minutes=8 * 60,
        resolution_business=True,
        calendar=berlin,
        warning_share=50,
    )
    policy(
        "German search",
        3,
        conditions={"languages": ["de"], "streams": [stream.pk]},
        first_response_minutes=45,
        resolution_minutes=10,  # due before the response: the summary shows resolution
    )
    policy("Urgent", 4, conditions={"priorities": [4]}, first_response_minutes=5)
    policy("Inactive", 0, is_active=False, first_response_minutes=1)


def author(x_id: str, followers: int = 10, *, complete: bool = True) -> InboundAuthor:
    if not complete:
        return InboundAuthor(x_id=x_id, handle=f"id{x_id}", name="", complete=False)
    return InboundAuthor(
        x_id=x_id, handle=f"user{x_id}", name=f"User {x_id}", followers_count=followers
    )


def post(
    x_id: str, author_x_id: str, text: str = "@Brand help", **fields: Any
) -> InboundMention:
    values: dict[str, Any] = {
        "kind": "post",
        "text": text,
        "lang": "en",
        "created_at": FRIDAY_1630_BERLIN,
        "author_x_id": author_x_id,
        "conversation_id": x_id,
        "in_reply_to_x_id": "",
        "summons_brand": True,
        "raw": {"id": x_id, "public_metrics": {"like_count": 0}},
    }
    return InboundMention(x_id=x_id, **{**values, **fields})


def store(
    stream: Stream, mentions: list[InboundMention], authors: list[InboundAuthor]
) -> ingest.StoreResult:
    with transaction.atomic():
        return ingest.store_page(
            account_id=stream.account_id,
            stream_id=stream.pk,
            mentions=mentions,
            authors=authors,
            now=FRIDAY_1630_BERLIN + timedelta(seconds=20),
            keywords=[],
        )


def snapshot() -> tuple[dict[str, tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]]:
    mentions = {
        m.x_id: (m.sla_due_at, m.sla_warning_at, m.sla_hint)
        for m in Mention.objects.all()
    }
    clocks: dict[str, list[tuple[Any, ...]]] = {}
    for c in SlaClock.objects.select_related("mention", "policy").order_by(
        "mention__x_id", "target", "cycle"
    ):
        clocks.setdefault(c.mention.x_id, []).append(
            (
                c.target,
                c.cycle,
                c.policy.name if c.policy else None,
                c.state,
                c.is_business_time,
                c.target_seconds,
                c.started_at,
                c.due_at,
                c.warning_at,
                c.due_hint,
                c.paused_seconds,
                c.is_late,
            )
        )
    return mentions, clocks


def both_paths(
    stream: Stream,
    monkeypatch: pytest.MonkeyPatch,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
) -> tuple[Any, Any]:
    """The database after storing the page through the planned path, then (rolled back) the reference."""
    results = []
    for fast in (True, False):
        with monkeypatch.context() as patch:
            patch.setattr(ingest, "_fast_path", lambda fast=fast: fast)
            try:
                with transaction.atomic():
                    store(stream, mentions, authors)
                    results.append(snapshot())
                    raise RollbackError
            except RollbackError:
                pass
    return results[0], results[1]


def test_planned_clocks_equal_the_clocks_start_clocks_starts(
    stream: Stream, policies: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Threads stored before the page: one answered once (-> next response #1), one answered twice
    # (-> next response #2), one never answered (-> first response).
    store(
        stream,
        [post("10", "1"), post("20", "2"), post("30", "3")],
        [author("1"), author("2"), author("3")],
    )
    answered_once = Mention.objects.get(x_id="10")
    sla.record_human_answer(
        answered_once, at=FRIDAY_1630_BERLIN + timedelta(minutes=5), channel="reply"
    )
    twice = Mention.objects.get(x_id="20")
    sla.record_human_answer(
        twice, at=FRIDAY_1630_BERLIN + timedelta(minutes=5), channel="dm"
    )
    store(stream, [post("21", "2", conversation_id="20")], [author("2")])
    sla.record_human_answer(
        twice, at=FRIDAY_1630_BERLIN + timedelta(minutes=6), channel="reply"
    )
    # A stored profile that the page only knows as a placeholder: its followers pick the policy.
    Author.objects.create(x_id="9", handle="famous", followers_count=50_000)

    page = [
        post("100", "4"),  # default
        post("101", "5"),  # VIP: business hours on a Friday evening
        post(
            "102", "6", kind="dm"
        ),  # DMs: no next-response target, business resolution
        post("103", "7", lang="de"),  # German search: resolution due first
        post("104", "8", text="@Brand this is the worst, awful, furious!? lawsuit"),
        post(
            "105", "1", conversation_id="10", in_reply_to_x_id="10"
        ),  # next response #1
        post(
            "106", "2", conversation_id="20", in_reply_to_x_id="21"
        ),  # next response #2
        post(
            "107", "3", conversation_id="30", in_reply_to_x_id="30"
        ),  # still first response
        post("108", "9"),  # placeholder author, stored with 50,000 followers: VIP
        post("10", "1"),  # redelivered: no new clocks
    ]
    authors = [
        author("1"),
        author("2"),
        author("3"),
        author("4"),
        author("5", 12_000),
        author("6"),
        author("7"),
        author("8", 150_000),
        author("9", complete=False),
    ]

    planned, reference = both_paths(stream, monkeypatch, page, authors)

    assert planned == reference
    mentions, clocks = planned
    assert [c[:3] for c in clocks["105"]] == [
        ("next_response", 1, "Default"),
        ("resolution", 1, "Default"),
    ]
    assert clocks["106"][0][:3] == ("next_response", 2, "Default")
    assert clocks["107"][0][:3] == ("first_response", 1, "Default")
    assert [c[:3] for c in clocks["101"]] == [("first_response", 1, "VIP")]
    assert [c[:3] for c in clocks["108"]] == [("first_response", 1, "VIP")]
    assert [c[:2] for c in clocks["102"]] == [("first_response", 1), ("resolution", 1)]
    assert mentions["103"][2].startswith("Resolution due")
    # 30 business minutes from Friday 16:30 in Berlin: 17:00, when the office closes.
    assert mentions["101"][0] == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    # The default policy's next response: 60 calendar minutes from the post.
    assert clocks["105"][0][7] == FRIDAY_1630_BERLIN + timedelta(minutes=60)
    assert len(clocks["10"]) == 2  # the first page's clocks, nothing added


def test_without_policies_nothing_is_planned_or_started(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    SlaPolicy.objects.all().delete()

    planned, reference = both_paths(
        stream,
        monkeypatch,
        [post("1", "1"), post("2", "2")],
        [author("1"), author("2")],
    )

    assert planned == reference
    assert planned[1] == {}
    assert set(planned[0].values()) == {(None, None, "")}


def test_unenriched_ingest_starts_no_clocks(stream: Stream, policies: None) -> None:
    with transaction.atomic():
        ingest.store_page(
            account_id=stream.account_id,
            stream_id=stream.pk,
            mentions=[post("1", "1")],
            authors=[author("1")],
            now=FRIDAY_1630_BERLIN,
            enrich=False,
        )

    assert not SlaClock.objects.exists()
    assert Mention.objects.get().sla_due_at is None


def test_a_page_is_one_statement_with_its_clocks(
    stream: Stream, policies: None
) -> None:
    store(stream, [post("1", "1")], [author("1")])  # caches the policies
    prepared = ingest.prepare_page(
        account_id=stream.account_id,
        stream_id=stream.pk,
        mentions=[post(str(n), str(n)) for n in range(2, 102)],
        authors=[author(str(n)) for n in range(2, 102)],
        keywords=[],
        policies=ingest.load_rules()[1],
    )

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        result = ingest.store_prepared(prepared, now=FRIDAY_1630_BERLIN)

    assert result.created == 100
    assert SlaClock.objects.count() == 2 + 200
    # Nothing reads or writes clocks or mentions again after the page's statement: the only other
    # queries are the escalation rules' (the shipped pre-breach rule is active).
    assert "sla_slaclock" in ingest._STORE_PAGE
    page = [
        q["sql"] for q in queries if q["sql"].startswith("EXECUTE earshot_store_page")
    ]
    assert len(page) == 1
    assert not [q for q in queries if "sla_slaclock" in q["sql"]]
    assert not [q for q in queries if q["sql"].lstrip().startswith("UPDATE")]


def test_the_rules_get_the_facts_they_would_read_back(
    stream: Stream, policies: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentions.escalation import facts
    from mentions.escalation import services as escalation

    store(stream, [post("10", "1")], [author("1")])
    sla.record_human_answer(
        Mention.objects.get(x_id="10"),
        at=FRIDAY_1630_BERLIN + timedelta(minutes=5),
        channel="reply",
    )
    Author.objects.create(x_id="9", handle="famous", followers_count=50_000)
    captured: dict[int, facts.Facts] = {}
    evaluate = escalation.evaluate_mentions

    def spy(ids: Any, *, now: Any, known: Any = None, rules: Any = None) -> None:
        captured.update(known or {})
        evaluate(ids, now=now, known=known, rules=rules)

    monkeypatch.setattr(escalation, "evaluate_mentions", spy)

    store(
        stream,
        [
            post("105", "1", conversation_id="10", in_reply_to_x_id="10"),
            post("101", "5"),
            post("102", "6", kind="dm", conversation_id="6-1"),
            post("103", "7", lang="de", text="@Brand this is awful, I hate it"),
            post("108", "9"),  # a placeholder author: the rules read the stored profile
        ],
        [
            author("1"),
            author("5", 12_000),
            author("6"),
            author("7"),
            author("9", complete=False),
        ],
    )

    ids = dict(Mention.objects.values_list("x_id", "id"))
    assert set(captured) == {ids[x] for x in ("105", "101", "102", "103")}
    loaded = {
        f.id: f
        for f in facts.load(list(captured), clocks=True, streams=True, assignments=True)
    }
    for f in [*loaded.values(), *captured.values()]:
        f.clocks.sort(key=lambda c: (c.target, c.cycle))
    assert captured == loaded
    assert {c.target for c in captured[ids["105"]].clocks} == {
        "next_response",
        "resolution",
    }


def test_rules_read_once_per_poll_are_used_and_none_skip_the_facts(
    stream: Stream, policies: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentions.escalation import services as escalation
    from mentions.escalation.models import EscalationRule

    store(stream, [post("1", "1")], [author("1")])  # caches the policies
    rules = ingest.load_escalation_rules()
    assert rules, "the migrations ship an active pre-breach rule"
    captured: list[Any] = []
    evaluate = escalation.evaluate_mentions

    def spy(ids: Any, *, now: Any, known: Any = None, rules: Any = None) -> None:
        captured.append((known, rules))
        evaluate(ids, now=now, known=known, rules=rules)

    monkeypatch.setattr(escalation, "evaluate_mentions", spy)

    def page(first: int) -> ingest.PreparedPage:
        return ingest.prepare_page(
            account_id=stream.account_id,
            stream_id=stream.pk,
            mentions=[post(str(n), str(n)) for n in range(first, first + 5)],
            authors=[author(str(n)) for n in range(first, first + 5)],
            keywords=[],
            policies=ingest.load_rules()[1],
        )

    rule_table = EscalationRule._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        ingest.store_prepared(page(10), now=FRIDAY_1630_BERLIN, rules=rules)
        ingest.store_prepared(page(20), now=FRIDAY_1630_BERLIN, rules=[])
    # The poll's rules were used: nothing read them again, and with none no facts were assembled.
    assert not [q for q in queries if f'FROM "{rule_table}"' in q["sql"]]
    (known_with, rules_with), (known_without, rules_without) = captured
    assert rules_with == rules
    assert len(known_with) == 5
    assert rules_without == []
    assert known_without == {}
    # The clocks are written either way.
    assert SlaClock.objects.filter(mention__x_id__in=["20", "24"]).count() == 4


def test_a_rule_deleted_after_the_poll_read_it_fires_nothing(
    stream: Stream, policies: None
) -> None:
    from mentions.escalation.models import EscalationFiring, EscalationRule

    rule = EscalationRule.objects.create(
        name="every new mention",
        conditions={"min_followers": 0},
        actions=[{"type": "add_tag", "tag": "seen"}],
    )
    rules = ingest.load_escalation_rules()
    assert rule in rules
    EscalationRule.objects.filter(pk=rule.pk).delete()

    prepared = ingest.prepare_page(
        account_id=stream.account_id,
        stream_id=stream.pk,
        mentions=[post("1", "1")],
        authors=[author("1")],
        keywords=[],
        policies=ingest.load_rules()[1],
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The test's transaction never commits: check the foreign keys now, as COMMIT would.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        result = ingest.store_prepared(prepared, now=FRIDAY_1630_BERLIN, rules=rules)

    assert result.created == 1
    assert not EscalationFiring.objects.filter(rule_id=rule.pk).exists()
