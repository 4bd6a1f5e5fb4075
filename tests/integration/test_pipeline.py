"""The whole pipeline with real processes: Celery workers and beat on Redis, Postgres, tweepy over HTTP.

These run the worker as a child process against the test database; the sandbox X API is served by the
test process's live server.
"""

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

from mentions import polling
from mentions.models import Author, Mention, Stream, Thread
from mentions.sandbox import services as sandbox
from mentions.tasks import poll_stream_task
from tests.conftest import child_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def child_env(sandbox_url, tmp_path):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    return {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "X_API_BASE_URL": sandbox_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "XSANDBOX_ENABLED": "1",
        "EARSHOT_DATA_DIR": str(tmp_path),
        "X_DISPATCH_INTERVAL": "1",
        "LOG_LEVEL": "INFO",
    }


def _start(args, env, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _worker(
    env, tmp_path, name: str, *, beat: bool = False, concurrency: int = 2
) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "helpdesk",
        "worker",
        "-Q",
        "poll,default",
        "-n",
        f"{name}@%h",
        "-c",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    if beat:
        args += ["-B", "-s", str(tmp_path / "beat-schedule")]
    return _start(args, env, tmp_path / f"{name}.log")


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


def _wait_for(
    predicate, *, timeout: float, what: str, logs: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    detail = ""
    if logs:
        detail = "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log"))
        )
    raise AssertionError(f"timed out waiting for {what}{detail}")


def _seed(brand, *, posts: int, threads: int, dms: int) -> int:
    """Posts (some continuing threads after a brand reply) and DMs; returns how many are customer mentions."""
    customers = [
        sandbox.create_user(f"cust{i}", f"Customer {i}", followers_count=i * 7)
        for i in range(25)
    ]
    roots = []
    for i in range(posts):
        roots.append(
            sandbox.create_post(
                customers[i % 25], f"@{brand['user'].username} issue #{i} with my order"
            )
        )
    for i in range(threads):
        ours = sandbox.create_post(
            brand["user"],
            f"@{roots[i].author.username} sorry, looking into it ({i})",
            in_reply_to=roots[i],
        )
        sandbox.create_post(
            roots[i].author,
            f"@{brand['user'].username} thanks, still broken ({i})",
            in_reply_to=ours,
        )
    for i in range(dms):
        sandbox.create_dm(customers[i % 25], brand["user"], f"private details {i}")
        sandbox.create_dm(brand["user"], customers[i % 25], f"our answer {i}")
    return posts + threads + dms


def test_a_real_worker_and_beat_ingest_every_post_and_dm_exactly_once(
    brand, child_env, tmp_path
):
    expected = _seed(brand, posts=230, threads=20, dms=15)
    Stream.objects.filter(pk=brand["streams"]["search"].pk).update(enabled=False)
    worker = _worker(child_env, tmp_path, "pipeline", beat=True)
    try:
        _wait_for(
            lambda: Mention.objects.count() >= expected,
            timeout=90,
            what=f"{expected} mentions",
            logs=tmp_path,
        )
        time.sleep(3)  # further beat ticks must not add anything
    finally:
        _stop(worker)

    assert Mention.objects.count() == expected
    assert Mention.objects.filter(kind=Mention.Kind.DM).count() == 15
    assert Author.objects.count() == 25
    assert not Mention.objects.filter(author__x_id=brand["user"].x_id).exists()
    # each continued conversation is one thread holding the customer's two posts
    assert Thread.objects.filter(mentions__kind="post").distinct().count() == 230
    assert (
        Mention.objects.filter(
            thread__in=Thread.objects.filter(mentions__in_reply_to_x_id__gt="")
        ).count()
        == 40
    )


def test_two_workers_polling_the_same_stream_store_each_mention_once(
    brand, child_env, tmp_path
):
    _seed(brand, posts=400, threads=0, dms=0)
    stream_id = brand["streams"]["mentions"].pk
    workers = [
        _worker(child_env, tmp_path, f"racer{i}", concurrency=2) for i in range(2)
    ]
    try:
        for _ in range(8):
            poll_stream_task.delay(stream_id)
        _wait_for(
            lambda: Mention.objects.count() >= 400,
            timeout=60,
            what="400 mentions",
            logs=tmp_path,
        )
        _wait_for(
            lambda: not Stream.objects.get(pk=stream_id).lease_owner,
            timeout=30,
            what="lease release",
        )
    finally:
        _stop(*workers)

    assert Mention.objects.count() == 400
    assert Stream.objects.get(pk=stream_id).checkpoint is None


@pytest.mark.parametrize("killed_after_pages", [1, 2, 4])
def test_a_poll_killed_after_page_k_and_rerun_stores_exactly_n(
    brand, child_env, tmp_path, killed_after_pages
):
    total = 520
    _seed(brand, posts=total, threads=0, dms=0)
    stream = brand["streams"]["mentions"]
    # The request for page k+1 hangs, so the poller is killed right after committing page k.
    sandbox.add_fault("mentions", "slow", after=killed_after_pages, delay_seconds=6)
    poller = _start(
        [sys.executable, "manage.py", "pollstreams", "--stream", str(stream.pk)],
        child_env,
        tmp_path / "poller.log",
    )
    try:
        _wait_for(
            lambda: Mention.objects.count() == killed_after_pages * 100,
            timeout=30,
            what=f"page {killed_after_pages} stored",
            logs=tmp_path,
        )
        time.sleep(0.3)
        poller.send_signal(signal.SIGKILL)
        poller.wait()
    finally:
        _stop(poller)
    stream.refresh_from_db()
    assert stream.checkpoint is not None
    assert stream.lease_owner  # the killed process never released it
    Stream.objects.filter(pk=stream.pk).update(
        lease_expires_at=timezone.now()
    )  # ...until it expires

    result = polling.poll_stream(stream.pk)

    assert result.outcome == polling.Outcome.DONE
    assert result.duplicates == 0
    assert Mention.objects.count() == total
    assert Mention.objects.values("x_id").distinct().count() == total
