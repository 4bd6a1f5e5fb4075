"""At ingest, rules fired on new mentions are applied in bulk (escalation/batch.py) with the same result
as the per-firing path (services._fire -> actions.apply): every history event (kind, message, data, in
order), every mention field, tag, note and notification, and the deliveries queued on commit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from mentions import ingest
from mentions.escalation import services
from mentions.escalation.models import EscalationFiring, EscalationRule, Notification
from mentions.models import Mention, MentionEvent, Note, Stream, Team
from mentions.sla.models import BusinessCalendar, SlaPolicy
from mentions.sources.base import InboundAuthor, InboundMention
from tests.escalation.conftest import NOW

pytestmark = pytest.mark.django_db


class RollbackError(Exception):
    pass


@pytest.fixture
def setup(stream: Stream) -> dict[str, Any]:
    care = Team.objects.create(name="Care")
    vip = Team.objects.create(name="VIP desk")
    stream.team = care
    stream.save()
    lead = User.objects.create_user("lead", email="Lead@Example.com")
    member = User.objects.create_user("member", email="member@example.com")
    User.objects.create_user("nomail")
    care.members.add(member)
    SlaPolicy.objects.all().delete()
    SlaPolicy.objects.create(
        name="Default",
        is_default=True,
        calendar=BusinessCalendar.objects.get_or_create(
            name="24/7", defaults={"time_zone": "UTC", "is_always_open": True}
        )[0],
        first_response_minutes=60,
        resolution_minutes=24 * 60,
    )
    fr = "first_response"
    rules: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        ({"keywords": ["lawyer"]}, [{"type": "raise_priority", "priority": 4}]),
        (
            {"keywords": ["lawyer", "refund"]},
            [
                {"type": "add_tag", "tag": "Legal "},
                {"type": "add_note", "body": "Call legal."},
                {"type": "notify_email", "to": "assignee_or_team"},
            ],
        ),
        (
            {"min_followers": 15_000},
            [{"type": "assign", "agent": lead.pk, "team": vip.pk}],
        ),
        (
            {"min_followers": 5000},
            [
                {"type": "notify_email", "to": "assignee"},
                {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
                {
                    "type": "add_tag",
                    "tag": "legal",
                },  # already tagged by rule 2: no event
            ],
        ),
        (
            {"clock": {"target": fr, "due_within_minutes": 90}},
            [{"type": "add_tag", "tag": "soon"}],
        ),
        (
            {"keywords": ["refund"]},
            [{"type": "assign", "agent": 999_999}],
        ),  # a deleted agent
        (
            {"keywords": ["outage"]},
            [
                {"type": "assign", "team": care.pk},
                {"type": "notify_email", "to": "team"},
                {
                    "type": "notify_email",
                    "to": "addresses",
                    "addresses": ["a@x.io", "A@x.io "],
                },
            ],
        ),
        ({"keywords": ["nothing-matches-this"]}, [{"type": "add_tag", "tag": "never"}]),
    ]
    for i, (conditions, actions) in enumerate(rules, start=1):
        EscalationRule.objects.create(
            name=f"rule {i}",
            position=i,
            conditions=conditions,
            actions=actions,
            webhook_secret="s" if any(a["type"] == "webhook" for a in actions) else "",
        )
    return {"stream": stream}


def author(x_id: str, followers: int = 10) -> InboundAuthor:
    return InboundAuthor(
        x_id=x_id, handle=f"user{x_id}", name=f"U {x_id}", followers_count=followers
    )


def post(x_id: str, author_x_id: str, text: str) -> InboundMention:
    return InboundMention(
        x_id=x_id,
        kind="post",
        text=text,
        lang="en",
        created_at=NOW - timedelta(minutes=1),
        author_x_id=author_x_id,
        conversation_id=x_id,
        in_reply_to_x_id="",
        summons_brand=True,
        raw={"id": x_id},
    )


PAGE = [
    post("1", "1", "@Acme my lawyer will hear about this"),
    post("2", "2", "@Acme refund please"),
    post("3", "3", "@Acme is there an outage?"),
    post("4", "4", "@Acme lawyer AND refund, now"),
    post("5", "5", "@Acme thanks, all good"),
]
AUTHORS = [
    author("1"),
    author("2", 8000),
    author("3"),
    author("4", 20_000),
    author("5"),
]


def state() -> dict[str, Any]:
    ids = dict(Mention.objects.values_list("pk", "x_id"))
    firing_keys = {
        f.pk: (f.rule.name, ids[f.mention_id], f.target, f.cycle)
        for f in EscalationFiring.objects.select_related("rule")
    }

    def data(d: dict[str, Any]) -> dict[str, Any]:
        d = dict(d)
        if "firing" in d:
            d["firing"] = firing_keys[d["firing"]]
        if "note" in d:
            d["note"] = Note.objects.get(pk=d["note"]).body
        return d

    return {
        "mentions": sorted(
            Mention.objects.values_list(
                "x_id",
                "priority",
                "status",
                "assignee__username",
                "team__name",
                "sla_due_at",
            )
        ),
        "tags": sorted(
            Mention.tags.through.objects.values_list("mention__x_id", "tag__name")
        ),
        "events": [
            (ids[e.mention_id], e.kind, e.message, data(e.data), e.actor_id)
            for e in MentionEvent.objects.order_by("id")
        ],
        "notes": sorted(Note.objects.values_list("mention__x_id", "body", "author")),
        "notifications": sorted(
            (firing_keys[n.firing_id], n.channel, n.destination, n.state)
            for n in Notification.objects.all()
        ),
        "firings": sorted(firing_keys.values()),
        "updated": sorted(
            ids[pk]
            for pk, at in Mention.objects.values_list("pk", "updated_at")
            if at == NOW
        ),
    }


def run(
    stream: Stream, monkeypatch: pytest.MonkeyPatch, *, batch: bool
) -> tuple[Any, list[str]]:
    queued: list[int] = []
    monkeypatch.setattr(services, "BATCH_AT_INGEST", batch)
    monkeypatch.setattr(
        "mentions.escalation.tasks.deliver_notification_task.delay",
        lambda pk: queued.append(pk),
    )
    try:
        with transaction.atomic():
            with (
                transaction.atomic(),
                CaptureQueriesContext(transaction.get_connection()) as queries,
            ):
                ingest.store_page(
                    account_id=stream.account_id,
                    stream_id=stream.pk,
                    mentions=PAGE,
                    authors=AUTHORS,
                    now=NOW,
                    keywords=[],
                )
            result = state()
            raise RollbackError
    except RollbackError:
        pass
    # on_commit callbacks run when the outermost (test) transaction commits: never here; count them
    assert queued == []
    return result, [q["sql"] for q in queries]


def test_the_batch_writes_what_the_per_firing_path_writes(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    batched, batch_queries = run(setup["stream"], monkeypatch, batch=True)
    reference, reference_queries = run(setup["stream"], monkeypatch, batch=False)

    assert batched == reference
    by_id = {m[0]: m for m in batched["mentions"]}
    assert by_id["4"][1:5] == (4, "open", "lead", "VIP desk")  # raised, then assigned
    assert by_id["1"][1:5] == (4, "new", None, "Care")
    assert ("1", "legal") in batched["tags"]
    assert ("1", "soon") in batched["tags"]
    assert ("5", "never") not in batched["tags"]
    destinations = {n[2] for n in batched["notifications"]}
    assert destinations == {
        "lead@example.com",
        "member@example.com",
        "a@x.io",
        "http://127.0.0.1:9/hook",
    }
    assert any("could not assign" in e[2] for e in batched["events"])
    assert any("no one to email" in e[2] for e in batched["events"])
    assert len(batch_queries) < len(reference_queries) / 2


def test_deliveries_are_queued_on_commit(
    setup: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(
        "mentions.escalation.tasks.deliver_notification_task.delay",
        lambda pk: queued.append(pk),
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        ingest.store_page(
            account_id=setup["stream"].account_id,
            stream_id=setup["stream"].pk,
            mentions=PAGE,
            authors=AUTHORS,
            now=NOW,
            keywords=[],
        )

    assert sorted(queued) == sorted(Notification.objects.values_list("pk", flat=True))
    assert queued


def test_a_mention_that_is_no_longer_new_takes_the_per_firing_path(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        "mentions.escalation.batch.apply_new", lambda *a, **k: calls.append("batch")
    )
    stream = setup["stream"]
    with transaction.atomic():
        ingest.store_page(
            account_id=stream.account_id,
            stream_id=stream.pk,
            mentions=[PAGE[0]],
            authors=AUTHORS[:1],
            now=NOW,
            keywords=[],
            enrich=False,
        )
    mention = Mention.objects.get()
    Mention.objects.filter(pk=mention.pk).update(status=Mention.Status.WAITING)

    services.evaluate_mentions([mention.pk], now=NOW)

    assert calls == []
    assert EscalationFiring.objects.filter(mention=mention).exists()
