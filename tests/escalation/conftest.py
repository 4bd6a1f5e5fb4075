"""Mentions, SLA clocks and rules for the escalation tests (clocks are plain SlaClock rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from mentions.escalation.models import EscalationRule
from mentions.models import Author, Mention, MentionStream, Stream, Thread, XAccount
from mentions.sla.models import SlaClock

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_seq = count(1)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def account(db):
    return XAccount.objects.create(handle="Acme", x_user_id="42", access_token="t")


@pytest.fixture
def stream(account):
    return Stream.objects.create(
        account=account, kind=Stream.Kind.MENTIONS, name="@mentions"
    )


@pytest.fixture
def make_mention(account, stream):
    def make(
        text: str = "my order is late",
        *,
        followers: int = 10,
        age_minutes: int = 5,
        stream_: Stream | None = None,
        **fields,
    ) -> Mention:
        n = next(_seq)
        author = Author.objects.create(
            x_id=str(1000 + n), handle=f"user{n}", followers_count=followers
        )
        created = NOW - timedelta(minutes=age_minutes)
        thread = Thread.objects.create(
            conversation_id=str(5000 + n), author=author, created_at=created
        )
        fields.setdefault("ingested_at", created)
        mention = Mention.objects.create(
            x_id=str(90000 + n),
            account=account,
            author=author,
            thread=thread,
            text=text,
            created_at=created,
            conversation_id=str(5000 + n),
            **fields,
        )
        MentionStream.objects.create(mention=mention, stream=stream_ or stream)
        return mention

    return make


def make_clock(
    mention: Mention,
    *,
    due_in: timedelta,
    target: str = SlaClock.Target.FIRST_RESPONSE,
    cycle: int = 1,
    state: str = SlaClock.State.ACTIVE,
    **fields,
) -> SlaClock:
    return SlaClock.objects.create(
        mention=mention,
        target=target,
        cycle=cycle,
        state=state,
        target_seconds=3600,
        started_at=NOW - timedelta(minutes=30),
        due_at=NOW + due_in,
        **fields,
    )


def make_rule(conditions, actions=None, **fields) -> EscalationRule:
    fields.setdefault("name", f"rule {next(_seq)}")
    return EscalationRule.objects.create(
        conditions=conditions,
        actions=actions or [{"type": "add_tag", "tag": "escalated"}],
        **fields,
    )


@pytest.fixture(autouse=True)
def _full_first_sweep():
    """The first sweep of each test evaluates every rule on every open mention (as after a restart)."""
    from django.core.cache import cache

    from mentions.escalation.services import FULL_EVALUATION_KEY

    cache.delete(FULL_EVALUATION_KEY)


@pytest.fixture(autouse=True)
def _no_default_rule(db):
    """The shipped pre-breach rule would fire in every test; tests that want it re-enable it."""
    EscalationRule.objects.filter(name="Pre-breach warning").update(is_active=False)


@pytest.fixture
def smtp_server(settings):
    from tests.escalation.servers import SmtpServer

    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def webhook_receiver():
    from tests.escalation.servers import WebhookReceiver

    receiver = WebhookReceiver(secret="s3cret-hook").start()
    yield receiver
    receiver.stop()
