"""Exactly-once public replies with a real Celery worker that is SIGKILLed after X accepted the post
and before the row was updated (the sandbox holds its answer back: the `lost_response` fault)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from mentions.sandbox import services as sandbox
from mentions.sandbox.models import SandboxPost
from responders import replies
from responders.models import GuardSettings, Outbound
from responders.tasks import recover_outbounds_task
from tests.conftest import child_database_url
from tests.responders.conftest import make_mention

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
X_TIMEOUT = 6  # the worker's lease is 2 * 6 + 5 = 17 s


@pytest.fixture
def child_env(sandbox_url, tmp_path):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    return {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "X_API_BASE_URL": sandbox_url,
        "X_API_TIMEOUT": str(X_TIMEOUT),
        "EMAIL_TIMEOUT": "2",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "XSANDBOX_ENABLED": "1",
        "EARSHOT_DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }


def _worker(env, tmp_path: Path, name: str) -> subprocess.Popen:
    args = [
        sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "-Q", "delivery",
        "-n", f"{name}@%h", "-c", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(predicate, *, timeout: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    detail = "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log"))
    )
    raise AssertionError(f"timed out waiting for {what}\n{detail}")


@pytest.fixture
def scene(brand):
    GuardSettings.objects.update_or_create(pk=1, defaults={"undo_seconds": 1})
    customer = sandbox.create_user("frank", "Frank")
    post = sandbox.create_post(customer, "@AcmeSupport where is my refund?")
    mention = make_mention(
        brand["account"],
        text=post.text,
        x_id=post.x_id,
        author_x_id=customer.x_id,
        handle="frank",
    )
    return {"mention": mention, "post": post, "brand_user": brand["user"]}


def _brand_replies(scene) -> list[SandboxPost]:
    return [
        p
        for p in sandbox.thread_for(scene["post"])
        if p.author_id == scene["brand_user"].pk
    ]


def _kill_after_x_accepted(scene, agent, tmp_path) -> Outbound:
    """Queue a reply, let X accept it, and SIGKILL the process that is waiting for X's answer."""
    sandbox.add_fault("create_post", "lost_response", delay_seconds=25)
    outbound = replies.queue_reply(
        scene["mention"],
        text="Refund sent today, Frank.",
        agent=agent,
        now=timezone.now(),
    )
    _wait_for(
        lambda: len(_brand_replies(scene)) == 1,
        timeout=30,
        what="X accepting the reply",
        logs=tmp_path,
    )
    outbound.refresh_from_db()
    assert outbound.state == "sending"
    pid = int(outbound.lease_owner.split(":")[1])
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    outbound.refresh_from_db()
    assert outbound.state == "sending"  # X has the post; we never recorded it
    return outbound


def test_a_worker_killed_after_x_accepted_the_reply_leads_to_exactly_one_post(
    scene, agent, child_env, tmp_path
):
    worker = _worker(child_env, tmp_path, "w1")
    try:
        outbound = _kill_after_x_accepted(scene, agent, tmp_path)
        # The pool child died: Celery requeues the task (acks_late + reject_on_worker_lost); the next
        # child waits for the dead one's lease, then reconciles with X instead of posting again.
        _wait_for(
            lambda: Outbound.objects.get(pk=outbound.pk).state == "sent",
            timeout=60, what="the reply recorded as sent", logs=tmp_path,
        )  # fmt: skip
    finally:
        _stop(worker)
    outbound.refresh_from_db()
    posted = _brand_replies(scene)
    assert len(posted) == 1
    assert outbound.external_id == posted[0].x_id
    assert outbound.attempts == 2


def test_a_whole_worker_killed_and_restarted_recovers_through_the_sweep_without_a_second_post(
    scene, agent, child_env, tmp_path
):
    first = _worker(child_env, tmp_path, "w1")
    try:
        outbound = _kill_after_x_accepted(scene, agent, tmp_path)
        os.kill(
            first.pid, signal.SIGKILL
        )  # the main process too: the message stays unacked for an hour
        first.wait()
    finally:
        _stop(first)
    second = _worker(child_env, tmp_path, "w2")
    try:
        _wait_for(
            lambda: Outbound.objects.get(pk=outbound.pk).lease_expires_at < timezone.now(),
            timeout=30, what="the dead worker's lease to expire", logs=tmp_path,
        )  # fmt: skip
        recover_outbounds_task.delay()  # what beat runs every minute
        _wait_for(
            lambda: Outbound.objects.get(pk=outbound.pk).state == "sent",
            timeout=40, what="the reply recorded as sent", logs=tmp_path,
        )  # fmt: skip
    finally:
        _stop(second)
    assert len(_brand_replies(scene)) == 1
