"""Notification delivery: real SMTP and HTTP on loopback, HMAC, retries, final states, history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mentions.escalation import notify, services
from mentions.escalation.models import Notification
from mentions.models import MentionEvent
from tests.escalation.conftest import NOW, make_clock, make_rule
from tests.escalation.servers import free_port

pytestmark = pytest.mark.django_db


def queued(
    make_mention, actions, *, text="my order <b>is</b> late <!channel>", secret=""
):
    mention = make_mention(text)
    make_clock(mention, due_in=timedelta(minutes=10))
    make_rule(
        {"clock": {"target": "first_response", "due_within_minutes": 15}},
        actions,
        name="Pre-breach <warning>",
        webhook_secret=secret,
    )
    services.sweep(now=NOW)
    return Notification.objects.get(firing__mention=mention)


def test_an_email_goes_through_a_real_smtp_server(make_mention, smtp_server):
    n = queued(
        make_mention,
        [
            {
                "type": "notify_email",
                "to": "addresses",
                "addresses": ["lead@example.com"],
            }
        ],
    )

    notify.deliver(n.pk, now=NOW)

    n.refresh_from_db()
    assert (n.state, n.attempts, n.sent_at) == (Notification.State.SENT, 1, NOW)
    [message] = smtp_server.messages
    assert message["to"] == ["lead@example.com"]
    assert "Subject: [Earshot] Pre-breach <warning> (first response)" in message["data"]
    assert (
        "my order &lt;b&gt;is&lt;/b&gt; late" in message["data"]
    )  # the HTML part escapes it
    assert n.firing.mention.events.filter(
        kind=MentionEvent.Kind.ESCALATION, message__contains="sent (attempt 1)"
    ).exists()


def test_an_unreachable_smtp_server_is_retried_later(make_mention, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    n = queued(
        make_mention,
        [{"type": "notify_email", "to": "addresses", "addresses": ["a@example.com"]}],
    )

    with pytest.raises(notify.TemporaryDeliveryError):
        notify.deliver(n.pk, now=NOW)

    n.refresh_from_db()
    assert n.state == Notification.State.QUEUED
    assert n.attempts == 1
    assert "SMTP" in n.last_error
    assert n.next_attempt_at == NOW + notify.backoff(1)


def test_a_webhook_is_signed_and_slack_compatible(make_mention, webhook_receiver):
    n = queued(
        make_mention,
        [{"type": "webhook", "url": webhook_receiver.url}],
        secret=webhook_receiver.secret,
    )

    notify.deliver(n.pk, now=NOW)

    n.refresh_from_db()
    assert n.state == Notification.State.SENT
    [received] = webhook_receiver.requests
    assert received.signature_ok
    assert received.headers["X-Earshot-Timestamp"] == str(int(NOW.timestamp()))
    body = received.json()
    assert set(body) >= {"text", "blocks"}
    # Customer text cannot ping @channel or inject Slack markup.
    assert "<!channel>" not in body["text"]
    assert "&lt;!channel&gt;" in body["text"]
    assert body["earshot"]["firing"] == n.firing_id


def test_a_webhook_that_fails_twice_is_delivered_on_the_third_attempt(
    make_mention, webhook_receiver
):
    webhook_receiver.fail_first = 2
    n = queued(
        make_mention,
        [{"type": "webhook", "url": webhook_receiver.url}],
        secret=webhook_receiver.secret,
    )

    for attempt in (1, 2):
        with pytest.raises(notify.TemporaryDeliveryError):
            notify.deliver(n.pk, now=NOW)
        n.refresh_from_db()
        assert (n.state, n.attempts) == (Notification.State.QUEUED, attempt)
        assert "HTTP 500" in n.last_error
    notify.deliver(n.pk, now=NOW)

    n.refresh_from_db()
    assert (n.state, n.attempts) == (Notification.State.SENT, 3)
    assert len(webhook_receiver.requests) == 3


def test_a_permanent_webhook_error_fails_without_retrying(
    make_mention, webhook_receiver
):
    # The receiver refuses a wrong signature with 401: retrying cannot help.
    n = queued(
        make_mention, [{"type": "webhook", "url": webhook_receiver.url}], secret="wrong"
    )

    notify.deliver(n.pk, now=NOW)

    n.refresh_from_db()
    assert (n.state, n.attempts) == (Notification.State.FAILED, 1)
    assert "HTTP 401" in n.last_error
    assert n.firing.mention.events.filter(
        message__contains="failed: webhook answered HTTP 401"
    ).exists()


def test_it_gives_up_after_the_last_attempt(make_mention, webhook_receiver):
    webhook_receiver.fail_first = 100
    n = queued(
        make_mention,
        [{"type": "webhook", "url": webhook_receiver.url}],
        secret=webhook_receiver.secret,
    )

    for _ in range(notify.MAX_ATTEMPTS - 1):
        with pytest.raises(notify.TemporaryDeliveryError):
            notify.deliver(n.pk, now=NOW)
    notify.deliver(n.pk, now=NOW)

    n.refresh_from_db()
    assert (n.state, n.attempts) == (Notification.State.FAILED, notify.MAX_ATTEMPTS)


def test_a_delivered_notification_is_never_sent_again(make_mention, webhook_receiver):
    n = queued(
        make_mention,
        [{"type": "webhook", "url": webhook_receiver.url}],
        secret=webhook_receiver.secret,
    )

    notify.deliver(n.pk, now=NOW)
    notify.deliver(n.pk, now=NOW)  # a duplicate task

    assert len(webhook_receiver.requests) == 1


def test_the_sweep_requeues_deliveries_whose_worker_died(
    make_mention, django_capture_on_commit_callbacks
):
    n = queued(
        make_mention,
        [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        secret="x",
    )
    Notification.objects.filter(pk=n.pk).update(
        state=Notification.State.SENDING, claimed_at=NOW - timedelta(minutes=6)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        assert notify.requeue_stale(now=NOW) == 1

    n.refresh_from_db()
    assert n.state == Notification.State.QUEUED
    assert len(callbacks) == 1


def test_a_recent_delivery_is_left_alone(make_mention):
    n = queued(
        make_mention,
        [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        secret="x",
    )

    assert notify.requeue_stale(now=NOW + timedelta(seconds=30)) == 0
    n.refresh_from_db()
    assert n.state == Notification.State.QUEUED


def test_the_webhook_secret_is_encrypted_at_rest(make_mention):
    from django.db import connection

    n = queued(
        make_mention,
        [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        secret="topsecret",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT webhook_secret FROM escalation_escalationrule WHERE id = %s",
            [n.firing.rule_id],
        )
        (stored,) = cursor.fetchone()

    assert stored
    assert "topsecret" not in stored
    n.firing.rule.refresh_from_db()
    assert n.firing.rule.webhook_secret == "topsecret"
