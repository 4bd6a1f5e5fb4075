"""Escalation with real processes: two Celery workers sweep concurrently against Postgres and Redis.

Each escalation must fire once and notify once: email through a real aiosmtpd server, webhooks to real
HTTP receivers on loopback (one fails twice before it accepts), the receivers verifying the HMAC.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from mentions.escalation.models import EscalationFiring, EscalationRule, Notification
from mentions.escalation.tasks import sweep_escalations_task
from mentions.models import (
    Author,
    Mention,
    MentionEvent,
    Team,
    Thread,
    XAccount,
)
from mentions.sla.models import SlaClock
from tests.conftest import child_database_url
from tests.escalation.servers import SmtpServer, WebhookReceiver

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def receivers():
    ok = WebhookReceiver(secret="ok-secret").start()
    flaky = WebhookReceiver(secret="flaky-secret", fail_first=2).start()
    yield ok, flaky
    ok.stop()
    flaky.stop()


def _env(tmp_path, smtp) -> dict[str, str]:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    return {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "EARSHOT_DATA_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "DEBUG": "0",
        "LOG_LEVEL": "INFO",
    }


def _worker(env, tmp_path: Path, name: str) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "helpdesk",
        "worker",
        "-Q",
        "sla,delivery",
        "-n",
        f"{name}@%h",
        "-c",
        "2",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _stop(*processes: subprocess.Popen) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _wait_for(predicate, *, timeout: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    detail = "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log"))
    )
    raise AssertionError(f"timed out waiting for {what}\n{detail}")


def _mention(account, n: int, *, due_in: timedelta, **fields) -> Mention:
    now = timezone.now()
    author = Author.objects.create(x_id=str(7000 + n), handle=f"cust{n}")
    thread = Thread.objects.create(
        conversation_id=str(8000 + n), author=author, created_at=now
    )
    mention = Mention.objects.create(
        x_id=str(9000 + n),
        account=account,
        author=author,
        thread=thread,
        text=f"@Acme order {n} never arrived",
        created_at=now - timedelta(minutes=30),
        conversation_id=str(8000 + n),
        **fields,
    )
    SlaClock.objects.create(
        mention=mention,
        target=SlaClock.Target.FIRST_RESPONSE,
        target_seconds=3600,
        started_at=now - timedelta(minutes=30),
        due_at=now + due_in,
    )
    return mention


def test_two_workers_sweeping_at_once_fire_and_notify_each_escalation_once(
    tmp_path, smtp, receivers
):
    ok, flaky = receivers
    EscalationRule.objects.all().delete()  # the shipped rule would add emails of its own
    account = XAccount.objects.create(handle="Acme", x_user_id="42", access_token="t")
    alice = User.objects.create_user("alice", email="alice@example.com")
    team = Team.objects.create(name="Support")
    team.members.add(
        User.objects.create_user("bob", email="bob@example.com"),
        User.objects.create_user("carol", email="carol@example.com"),
    )
    for n in range(3):
        _mention(account, n, due_in=timedelta(minutes=10), assignee=alice)
    for n in range(3, 6):
        _mention(account, n, due_in=timedelta(minutes=10), team=team)
    breached = _mention(account, 6, due_in=timedelta(minutes=-1), team=team)
    soon = {"clock": {"target": "first_response", "due_within_minutes": 15}}
    EscalationRule.objects.create(
        name="warn by email",
        conditions=soon,
        actions=[{"type": "notify_email", "to": "assignee_or_team"}],
    )
    EscalationRule.objects.create(
        name="warn by webhook",
        conditions=soon,
        actions=[{"type": "webhook", "url": ok.url}],
        webhook_secret=ok.secret,
    )
    EscalationRule.objects.create(
        name="breached",
        conditions={"clock": {"target": "first_response", "breached": True}},
        actions=[
            {"type": "webhook", "url": flaky.url},
            {
                "type": "notify_email",
                "to": "addresses",
                "addresses": ["lead@example.com"],
            },
            {"type": "raise_priority", "priority": 4},
        ],
        webhook_secret=flaky.secret,
    )
    env = _env(tmp_path, smtp)
    workers = [_worker(env, tmp_path, f"sweeper{i}") for i in range(2)]
    try:
        for _ in range(12):  # more sweeps than worker processes: they overlap
            sweep_escalations_task.delay()
        _wait_for(
            lambda: (
                EscalationFiring.objects.count() == 13
                and Notification.objects.count() == 17
                and not Notification.objects.exclude(
                    state=Notification.State.SENT
                ).exists()
            ),
            timeout=90,
            what="13 firings and 17 sent notifications",
            logs=tmp_path,
        )
        for _ in range(4):  # later sweeps change nothing
            sweep_escalations_task.delay()
        time.sleep(3)
    finally:
        _stop(*workers)

    assert EscalationFiring.objects.count() == 13
    assert (
        MentionEvent.objects.filter(
            kind=MentionEvent.Kind.ESCALATION, message__contains="fired"
        ).count()
        == 13
    )
    emails = Counter(rcpt for m in smtp.messages for rcpt in m["to"])
    assert emails == {
        "alice@example.com": 3,
        "bob@example.com": 3,
        "carol@example.com": 3,
        "lead@example.com": 1,
    }
    assert all(r.signature_ok for r in ok.requests + flaky.requests)
    ok_firings = Counter(r.json()["earshot"]["firing"] for r in ok.requests)
    assert len(ok_firings) == 6
    assert set(ok_firings.values()) == {1}
    assert len(flaky.requests) == 3  # two 500s, then accepted
    webhook = Notification.objects.get(destination=flaky.url)
    assert (webhook.state, webhook.attempts) == (Notification.State.SENT, 3)
    breached.refresh_from_db()
    assert breached.priority == Mention.Priority.URGENT
