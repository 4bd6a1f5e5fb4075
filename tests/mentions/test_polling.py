"""Polling through real tweepy against the sandbox X API over HTTP: cursor, checkpoint, faults."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mentions import polling
from mentions.models import Mention, MentionStream, Stream, Thread
from mentions.polling import Outcome
from mentions.sandbox import services as sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def _customers(count: int):
    return [
        sandbox.create_user(f"customer{i}", f"Customer {i}", followers_count=10 * i)
        for i in range(count)
    ]


def _post_many(brand_user, count: int, *, customers=None, mention=True):
    customers = customers or _customers(10)
    handle = f"@{brand_user.username} " if mention else "acme "
    return [
        sandbox.create_post(
            customers[i % len(customers)], f"{handle}problem number {i}"
        )
        for i in range(count)
    ]


def _poll_until_done(stream: Stream, **kwargs) -> list[polling.PollResult]:
    results = []
    for _ in range(50):
        result = polling.poll_stream(stream.pk, **kwargs)
        results.append(result)
        if result.outcome == Outcome.DONE:
            return results
        Stream.objects.filter(pk=stream.pk).update(
            lease_owner="", lease_expires_at=None
        )
    raise AssertionError(f"poll never finished: {results}")


def test_it_stores_every_mention_once_across_pages(brand):
    stream = brand["streams"]["mentions"]
    posts = _post_many(brand["user"], 250)

    result = polling.poll_stream(stream.pk)

    assert result.outcome == Outcome.DONE
    assert result.pages == 3
    assert result.created == 250
    assert Mention.objects.count() == 250
    stream.refresh_from_db()
    assert stream.since_id == str(max(int(p.x_id) for p in posts))
    assert stream.checkpoint is None
    assert stream.last_success_at is not None


def test_a_second_poll_fetches_only_new_posts(brand):
    stream = brand["streams"]["mentions"]
    customers = _customers(3)
    _post_many(brand["user"], 30, customers=customers)
    polling.poll_stream(stream.pk)
    _post_many(brand["user"], 7, customers=customers)

    result = polling.poll_stream(stream.pk)

    assert (result.created, result.duplicates) == (7, 0)
    assert Mention.objects.count() == 37


def test_it_marks_posts_that_summon_the_brand(brand):
    stream = brand["streams"]["search"]
    customer = _customers(1)[0]
    summoning = sandbox.create_post(customer, "@AcmeSupport my order is late")
    passing = sandbox.create_post(customer, "thinking about buying an acme toaster")

    polling.poll_stream(stream.pk)

    assert Mention.objects.get(x_id=summoning.x_id).summons_brand is True
    assert Mention.objects.get(x_id=passing.x_id).summons_brand is False


def test_it_groups_consecutive_posts_of_one_customer_into_a_thread(brand):
    stream = brand["streams"]["mentions"]
    alice, bob = _customers(2)
    root = sandbox.create_post(alice, "@AcmeSupport my parcel never arrived")
    ours = sandbox.create_post(
        brand["user"],
        "@customer0 sorry! Could you DM us the order number?",
        in_reply_to=root,
    )
    follow_up = sandbox.create_post(
        alice, "@AcmeSupport done, sent it", in_reply_to=ours
    )
    other = sandbox.create_post(bob, "@AcmeSupport same here", in_reply_to=root)

    polling.poll_stream(stream.pk)

    assert not Mention.objects.filter(
        x_id=ours.x_id
    ).exists()  # the brand's own post is not a mention
    alice_thread = Mention.objects.get(x_id=root.x_id).thread
    assert Mention.objects.get(x_id=follow_up.x_id).thread == alice_thread
    assert Mention.objects.get(x_id=other.x_id).thread != alice_thread
    assert Mention.objects.get(x_id=follow_up.x_id).in_reply_to_x_id == ours.x_id
    assert Thread.objects.count() == 2


def test_it_ingests_customer_dms_and_drops_the_brands_own(brand):
    stream = brand["streams"]["dms"]
    customer = _customers(1)[0]
    first = sandbox.create_dm(customer, brand["user"], "hi, my account is locked")
    sandbox.create_dm(brand["user"], customer, "we are on it")
    polling.poll_stream(stream.pk)
    second = sandbox.create_dm(customer, brand["user"], "thanks, it works now")

    result = polling.poll_stream(stream.pk)

    assert result.created == 1
    assert sorted(Mention.objects.values_list("x_id", flat=True)) == sorted(
        [first.x_id, second.x_id]
    )
    dm = Mention.objects.get(x_id=second.x_id)
    assert dm.kind == Mention.Kind.DM
    assert dm.thread == Mention.objects.get(x_id=first.x_id).thread


def test_a_post_matched_by_two_streams_is_stored_once_and_linked_to_both(brand):
    _post_many(brand["user"], 5)

    polling.poll_stream(brand["streams"]["mentions"].pk)
    result = polling.poll_stream(brand["streams"]["search"].pk)

    assert (result.created, result.duplicates) == (0, 5)
    assert Mention.objects.count() == 5
    assert MentionStream.objects.count() == 10


def test_a_new_search_stream_backfills_seven_days_with_progress(brand):
    stream = brand["streams"]["search"]
    customers = _customers(5)
    now = timezone.now()
    for i in range(300):
        sandbox.create_post(
            customers[i % 5],
            f"acme order {i}",
            created_at=now - timedelta(days=6, hours=20) + timedelta(minutes=32 * i),
        )

    first = polling.poll_stream(stream.pk, max_pages=1)

    assert first.outcome == Outcome.PAUSED
    stream.refresh_from_db()
    progress = stream.backfill_progress()
    assert progress is not None
    assert 0 < progress < 1
    assert stream.state == "backfilling"
    _poll_until_done(stream)
    stream.refresh_from_db()
    assert stream.backfill_progress() is None
    assert stream.backfill_completed_at is not None
    assert Mention.objects.count() == 300


@pytest.mark.parametrize("failing_call", [1, 2, 3])
def test_a_poll_interrupted_after_page_k_resumes_without_loss_or_duplicates(
    brand, failing_call
):
    stream = brand["streams"]["mentions"]
    _post_many(brand["user"], 420)
    sandbox.add_fault("mentions", "server_error", after=failing_call, count=1)

    interrupted = polling.poll_stream(stream.pk)
    stream.refresh_from_db()
    stored_before = Mention.objects.count()
    resumed = _poll_until_done(stream)

    assert interrupted.outcome == Outcome.RETRYING
    assert stored_before == failing_call * 100
    assert stream.checkpoint is not None
    assert resumed[-1].created == 420 - stored_before
    assert Mention.objects.count() == 420
    assert sum(r.duplicates for r in resumed) == 0


def test_a_rate_limit_makes_the_stream_wait_until_the_reset_then_complete(brand):
    stream = brand["streams"]["mentions"]
    _post_many(brand["user"], 150)
    sandbox.add_fault("mentions", "rate_limit", after=1, reset_in_seconds=2)

    limited = polling.poll_stream(stream.pk)

    stream.refresh_from_db()
    assert limited.outcome == Outcome.RATE_LIMITED
    assert stream.next_poll_at > timezone.now()
    assert stream.state == "rate-limited"
    assert stream.pk not in polling.dispatch_due_streams(now=timezone.now())
    time.sleep(max(0, (stream.next_poll_at - timezone.now()).total_seconds()) + 0.1)
    assert stream.pk in polling.dispatch_due_streams(now=timezone.now())
    assert polling.poll_stream(stream.pk).outcome == Outcome.DONE
    assert Mention.objects.count() == 150


def test_a_server_error_backs_off_and_recovers(brand):
    stream = brand["streams"]["mentions"]
    _post_many(brand["user"], 20)
    sandbox.add_fault("mentions", "server_error", count=2)

    first = polling.poll_stream(stream.pk)
    stream.refresh_from_db()
    first_delay = stream.next_poll_at - timezone.now()
    second = polling.poll_stream(stream.pk)
    stream.refresh_from_db()
    second_delay = stream.next_poll_at - timezone.now()
    third = polling.poll_stream(stream.pk)

    assert (first.outcome, second.outcome, third.outcome) == (
        Outcome.RETRYING,
        Outcome.RETRYING,
        Outcome.DONE,
    )
    assert timedelta(seconds=3) < first_delay < second_delay
    assert "500" in first.error or "503" in first.error
    stream.refresh_from_db()
    assert stream.consecutive_failures == 0
    assert stream.last_error == ""
    assert Mention.objects.count() == 20


@pytest.mark.parametrize(
    ("fault", "message"),
    [("unauthorized", "401"), ("usage_cap", "usage cap"), ("credits", "credits")],
)
def test_a_permanent_error_stops_the_stream_with_the_reason(brand, fault, message):
    stream = brand["streams"]["mentions"]
    sandbox.add_fault("mentions", fault)

    result = polling.poll_stream(stream.pk)

    stream.refresh_from_db()
    assert result.outcome == Outcome.STOPPED
    assert stream.stopped_at is not None
    assert message.lower() in stream.last_error.lower()
    assert stream.state == "stopped"


def test_a_stopped_stream_is_not_dispatched_until_resumed(brand):
    stream = brand["streams"]["mentions"]
    sandbox.add_fault("mentions", "unauthorized")
    polling.poll_stream(stream.pk)

    assert stream.pk not in polling.dispatch_due_streams(
        now=timezone.now() + timedelta(hours=1)
    )
    polling.resume_stream(stream.pk)
    assert stream.pk in polling.dispatch_due_streams(
        now=timezone.now() + timedelta(seconds=1)
    )


def test_partial_errors_in_a_200_keep_the_good_posts(brand):
    stream = brand["streams"]["mentions"]
    _post_many(brand["user"], 12)
    sandbox.add_fault("mentions", "partial_errors")

    result = polling.poll_stream(stream.pk)

    assert result.outcome == Outcome.DONE
    assert Mention.objects.count() == 12


def test_the_stream_page_shows_a_stopped_streams_reason(brand, agent_client):
    stream = brand["streams"]["mentions"]
    sandbox.add_fault("mentions", "unauthorized")
    polling.poll_stream(stream.pk)

    response = agent_client.get(f"/mentions/streams/{stream.pk}/")

    assert response.status_code == 200
    assert b"stopped" in response.content
    assert b"401" in response.content


@pytest.mark.postgres
def test_two_pollers_racing_on_one_stream_store_each_mention_once(brand):
    stream = brand["streams"]["mentions"]
    _post_many(brand["user"], 300)
    results: list[polling.PollResult] = []
    barrier = threading.Barrier(2)

    def run():
        from django.db import connection

        barrier.wait()
        try:
            results.append(polling.poll_stream(stream.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.outcome for r in results) == sorted([Outcome.DONE, Outcome.SKIPPED])
    assert Mention.objects.count() == 300


def test_a_poll_whose_lease_was_taken_over_stores_nothing_more(brand, monkeypatch):
    """Another worker takes the stream over mid-poll: our next page rolls back whole (the fence)."""
    stream = brand["streams"]["mentions"]
    _post_many(brand["user"], 250)
    store = polling._store
    pages = []

    def take_over_after_the_first_page(stream_id, owner, *args, **kwargs):
        store(stream_id, owner, *args, **kwargs)
        pages.append(owner)
        Stream.objects.filter(pk=stream_id).update(lease_owner="someone-else")

    monkeypatch.setattr(polling, "_store", take_over_after_the_first_page)

    result = polling.poll_stream(stream.pk)

    assert result.outcome == Outcome.SKIPPED
    assert len(pages) == 1  # the second page's fence matched nothing
    assert Mention.objects.count() == 100
    stream.refresh_from_db()
    assert stream.lease_owner == "someone-else"
    assert stream.checkpoint[
        "oldest_stored"
    ]  # the first page's checkpoint, nothing after it
    assert not stream.since_id
