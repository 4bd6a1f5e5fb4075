"""Delivery through real tweepy against the sandbox X API on loopback (no worker: the service is called)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mentions.models import MentionEvent
from mentions.sandbox import services as sandbox
from mentions.sandbox.models import SandboxPost
from responders import delivery, replies
from responders.models import Outbound


def deliver(outbound: Outbound, *, after: float = 0.0) -> float | None:
    return delivery.deliver_outbound(
        outbound.pk,
        now=timezone.now() + timedelta(seconds=after),
        owner=delivery.new_owner(),
    )


def brand_replies(ctx) -> list[SandboxPost]:
    return list(SandboxPost.objects.filter(in_reply_to=ctx["post"], author=ctx["user"]))


def test_a_reply_waits_for_the_undo_window_then_is_posted_and_marked_sent(
    sandbox_mention, agent
):
    ctx = sandbox_mention
    outbound = replies.queue_reply(
        ctx["mention"],
        text="Sorry Dana, checking now.",
        agent=agent,
        now=timezone.now(),
    )
    assert outbound.state == "queued"
    assert deliver(outbound) == pytest.approx(10.5, abs=1)
    assert brand_replies(ctx) == []
    assert deliver(outbound, after=11) is None
    outbound.refresh_from_db()
    posted = brand_replies(ctx)
    assert [p.text for p in posted] == ["Sorry Dana, checking now."]
    assert outbound.state == "sent"
    assert outbound.external_id == posted[0].x_id
    assert outbound.url == f"https://x.com/AcmeSupport/status/{posted[0].x_id}"
    events = list(
        MentionEvent.objects.filter(mention=ctx["mention"]).values_list(
            "kind", "message"
        )
    )
    assert events == [("reply", "Public reply queued"), ("reply", "Public reply sent")]


def test_an_undone_reply_is_never_posted(sandbox_mention, agent):
    now = timezone.now()
    outbound = replies.queue_reply(
        sandbox_mention["mention"], text="Oops", agent=agent, now=now
    )
    assert replies.undo_outbound(outbound, agent=agent, now=now + timedelta(seconds=3))
    assert deliver(outbound, after=11) is None
    outbound.refresh_from_db()
    assert outbound.state == "cancelled"
    assert brand_replies(sandbox_mention) == []


def test_undo_is_refused_once_the_window_has_passed(mention, agent):
    now = timezone.now()
    outbound = replies.queue_reply(mention, text="Hi", agent=agent, now=now)
    assert not replies.undo_outbound(
        outbound, agent=agent, now=now + timedelta(seconds=11)
    )
    outbound.refresh_from_db()
    assert outbound.state == "queued"


def _stalled(ctx, agent, text: str) -> Outbound:
    """A row whose worker died after claiming it (lease expired, one attempt made)."""
    now = timezone.now()
    return Outbound.objects.create(
        mention=ctx["mention"], channel="reply", text=text, agent=agent,
        state="sending", attempts=1, release_at=now - timedelta(seconds=60),
        lease_owner="dead:1:x", lease_expires_at=now - timedelta(seconds=1),
    )  # fmt: skip


def test_a_reply_that_reached_x_before_a_crash_is_found_and_not_posted_again(
    sandbox_mention, agent
):
    ctx = sandbox_mention
    outbound = _stalled(ctx, agent, "We are on it, Dana.")
    already = sandbox.create_post(
        ctx["user"], "We are on it, Dana.", in_reply_to=ctx["post"]
    )
    assert deliver(outbound) is None
    outbound.refresh_from_db()
    assert outbound.state == "sent"
    assert outbound.external_id == already.x_id
    assert len(brand_replies(ctx)) == 1


def test_a_stalled_reply_that_never_reached_x_is_posted_once(sandbox_mention, agent):
    ctx = sandbox_mention
    outbound = _stalled(ctx, agent, "Second try text")
    sandbox.create_post(ctx["user"], "A different reply", in_reply_to=ctx["post"])
    assert deliver(outbound) is None
    outbound.refresh_from_db()
    assert outbound.state == "sent"
    assert sorted(p.text for p in brand_replies(ctx)) == [
        "A different reply",
        "Second try text",
    ]


def test_a_live_lease_makes_a_second_worker_wait(sandbox_mention, agent):
    outbound = _stalled(sandbox_mention, agent, "x")
    Outbound.objects.filter(pk=outbound.pk).update(
        lease_expires_at=timezone.now() + timedelta(seconds=20)
    )
    assert deliver(outbound) == pytest.approx(20.5, abs=1)
    outbound.refresh_from_db()
    assert outbound.state == "sending"
    assert outbound.lease_owner == "dead:1:x"


def test_x_refusing_a_reply_fails_it_with_the_reason_and_no_retry(brand, agent):
    from tests.responders.conftest import make_mention

    customer = sandbox.create_user("erin", "Erin")
    post = sandbox.create_post(
        customer, "acme is down again"
    )  # does not summon the brand
    mention = make_mention(
        brand["account"],
        text=post.text,
        x_id=post.x_id,
        author_x_id=customer.x_id,
        handle="erin",
    )
    outbound = replies.queue_reply(
        mention, text="Hi Erin", agent=agent, now=timezone.now()
    )
    assert deliver(outbound, after=11) is None
    outbound.refresh_from_db()
    assert outbound.state == "failed"
    assert outbound.is_retryable is False
    assert "not been mentioned" in outbound.failure_reason
    assert outbound.failure_reason.startswith("X answered 403")


def test_server_errors_are_retried_then_failed_as_retryable_and_a_retry_reconciles(
    sandbox_mention, agent
):
    ctx = sandbox_mention
    sandbox.add_fault("create_post", "server_error", count=3)
    outbound = replies.queue_reply(
        ctx["mention"], text="Hang on", agent=agent, now=timezone.now()
    )
    delay = deliver(outbound, after=11)
    outbound.refresh_from_db()
    assert outbound.state == "queued"
    assert delay is not None
    assert outbound.failure_reason.startswith("Retrying: X answered 50")
    deliver(outbound, after=30)
    deliver(outbound, after=60)
    outbound.refresh_from_db()
    assert (outbound.state, outbound.is_retryable, outbound.attempts) == (
        "failed",
        True,
        3,
    )
    assert replies.retry_outbound(outbound, agent=agent, now=timezone.now())
    assert deliver(outbound, after=1) is None
    outbound.refresh_from_db()
    assert outbound.state == "sent"
    assert [p.text for p in brand_replies(ctx)] == ["Hang on"]


def test_a_rate_limit_reschedules_at_the_reset_time(sandbox_mention, agent):
    sandbox.add_fault("create_post", "rate_limit", reset_in_seconds=120)
    outbound = replies.queue_reply(
        sandbox_mention["mention"], text="Soon", agent=agent, now=timezone.now()
    )
    delay = deliver(outbound, after=11)
    outbound.refresh_from_db()
    assert outbound.state == "queued"
    assert delay is not None
    assert 90 < delay < 130
    assert outbound.release_at > timezone.now() + timedelta(seconds=90)


def test_stalled_ids_lists_lost_and_dead_rows_only(mention, agent):
    now = timezone.now()
    lost = Outbound.objects.create(
        mention=mention,
        channel="reply",
        text="a",
        agent=agent,
        release_at=now - timedelta(minutes=5),
    )
    Outbound.objects.create(
        mention=mention,
        channel="reply",
        text="b",
        agent=agent,
        release_at=now + timedelta(seconds=5),
    )
    dead = Outbound.objects.create(
        mention=mention,
        channel="dm",
        text="c",
        agent=agent,
        state="sending",
        release_at=now,
        lease_expires_at=now - timedelta(seconds=1),
    )
    Outbound.objects.create(
        mention=mention,
        channel="dm",
        text="d",
        agent=agent,
        state="sending",
        release_at=now,
        lease_expires_at=now + timedelta(seconds=30),
    )
    assert sorted(delivery.stalled_ids(now=now)) == sorted([lost.pk, dead.pk])


def test_a_reply_that_x_accepted_stops_the_first_response_clock(sandbox_mention, agent):
    from mentions.sla import services as sla
    from mentions.sla.models import BusinessCalendar, SlaClock, SlaPolicy

    calendar = BusinessCalendar.objects.create(name="always", is_always_open=True)
    SlaPolicy.objects.all().update(is_default=False)
    SlaPolicy.objects.create(
        name="replies-test",
        is_default=True,
        calendar=calendar,
        first_response_minutes=60,
    )
    mention = sandbox_mention["mention"]
    sla.start_clocks([mention.pk], now=mention.created_at)
    clock = SlaClock.objects.get(mention=mention, target="first_response")
    assert clock.state == "active"
    outbound = replies.queue_reply(
        mention, text="On it", agent=agent, now=timezone.now()
    )
    deliver(outbound, after=11)
    clock.refresh_from_db()
    assert clock.state == "met"
    assert clock.stopped_by_channel == "reply"
    assert clock.stopped_by == agent


def test_an_undone_or_failed_reply_leaves_the_clock_running(brand, agent):
    from mentions.sla import services as sla
    from mentions.sla.models import BusinessCalendar, SlaClock, SlaPolicy
    from tests.responders.conftest import make_mention

    calendar = BusinessCalendar.objects.create(name="always", is_always_open=True)
    SlaPolicy.objects.all().update(is_default=False)
    SlaPolicy.objects.create(
        name="replies-test",
        is_default=True,
        calendar=calendar,
        first_response_minutes=60,
    )
    customer = sandbox.create_user("gail", "Gail")
    post = sandbox.create_post(
        customer, "acme broke my order"
    )  # not summoned: X refuses the reply
    mention = make_mention(
        brand["account"],
        text=post.text,
        x_id=post.x_id,
        author_x_id=customer.x_id,
        handle="gail",
    )
    sla.start_clocks([mention.pk], now=mention.created_at)
    outbound = replies.queue_reply(
        mention, text="Hi Gail", agent=agent, now=timezone.now()
    )
    deliver(outbound, after=11)
    outbound.refresh_from_db()
    assert outbound.state == "failed"
    assert (
        SlaClock.objects.get(mention=mention, target="first_response").state == "active"
    )


def test_the_lease_covers_the_real_x_search_lag_but_not_the_sandboxs(settings):
    settings.X_API_TIMEOUT, settings.EMAIL_TIMEOUT = 5, 5
    settings.X_API_BASE_URL = "https://api.twitter.com"
    assert delivery.lease_length() == timedelta(seconds=35)
    settings.X_API_BASE_URL = "http://127.0.0.1:8000/xsandbox"
    assert delivery.lease_length() == timedelta(seconds=15)
