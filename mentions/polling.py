"""Polling one stream without losing or duplicating a mention (xapi/README.md §3.3).

1. A worker claims the stream with a conditional UPDATE of its lease; a second worker gets 0 rows and
   skips. Every page commits only with a conditional UPDATE of the stream row that re-checks the lease
   (fencing) and holds the row until COMMIT, so a worker whose lease expired and was taken over cannot
   commit a page: its transaction rolls back whole.
2. Search and mentions: ask with `since_id=S` (the committed cursor). The first page's `newest_id` becomes
   `pending`. Each page is stored in the same transaction as the checkpoint `{S, pending, oldest_stored}`.
   The transaction that stores the last page also sets `S := pending` and clears the checkpoint.
3. A poll interrupted anywhere (crash, kill, 429, 5xx) resumes from the checkpoint with
   `since_id=S&until_id=oldest_stored`, which returns exactly what is still missing; any overlap is
   absorbed by the unique X id.
4. DMs have no `since_id`: page newest to oldest until the last seen event id or the 30-day horizon; the
   checkpoint keeps the pagination token, and the cursor moves to the first page's newest event at the end.

Retries are not Celery retries: a rate limit, a backoff or a stop is written to the stream row
(`next_poll_at`, `stopped_at`) and beat dispatches the stream again when it is due.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mentions import accounts, ingest, scoring
from mentions.models import Stream
from mentions.pipeline import FetchAhead
from mentions.sla.calendars import PolicySet
from mentions.sources.base import (
    PermanentError,
    RateLimit,
    RateLimitedError,
    SourceError,
    SourcePage,
    TransientError,
)
from mentions.sources.x import XSource

if TYPE_CHECKING:
    from mentions.escalation.models import EscalationRule

logger = logging.getLogger(__name__)

BACKFILL_WINDOW = timedelta(days=7)  # recent search reaches 7 days back
DM_HORIZON = timedelta(days=30)  # dm_events reaches 30 days back


class Outcome(StrEnum):
    DONE = "done"
    PAUSED = "paused"  # page budget used up; due again at once
    SKIPPED = "skipped"  # another worker holds the stream
    RATE_LIMITED = "rate-limited"
    RETRYING = "retrying"
    STOPPED = "stopped"


@dataclass
class PollResult:
    outcome: Outcome = Outcome.DONE
    pages: int = 0
    created: int = 0
    duplicates: int = 0
    bad: int = 0
    error: str = ""
    rate_limit: RateLimit | None = (
        None  # from the last page's headers; paces the next poll
    )
    # The admin's priority keywords and the SLA policies, read once per poll (not per page).
    keywords: list[scoring.Keyword] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )
    policies: PolicySet | None = dataclasses.field(
        default=None, compare=False, repr=False
    )
    # The active escalation rules, read with them: a rule created, edited or deleted mid-poll takes
    # effect from the next poll (the sweep, every 30 s, checks what this poll stored against it).
    escalation_rules: list[EscalationRule] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )
    fast_path: bool = dataclasses.field(default=True, compare=False, repr=False)

    def load_rules(self) -> None:
        """Read the keywords, policies and escalation rules (once per poll) in the poll's own thread."""
        if self.keywords is None or self.policies is None:
            self.keywords, self.policies = ingest.load_rules()
            self.escalation_rules = ingest.load_escalation_rules()
            self.fast_path = ingest.fast_path()


class LeaseLostError(Exception):
    """Another worker took the stream over after our lease expired; stop without writing."""


class _PageBudgetUsedError(Exception):
    pass


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.X_POLL_LEASE_SECONDS)


def claim_stream(stream_id: int, *, owner: str, now: datetime) -> bool:
    """Take the stream's lease if nobody holds a live one (0 rows updated means another worker has it)."""
    return (
        Stream.objects.filter(pk=stream_id, enabled=True, stopped_at__isnull=True)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_owner=owner, lease_expires_at=_lease_until(now), last_poll_at=now)
        == 1
    )


def dispatch_due_streams(*, now: datetime) -> list[int]:
    """Return the ids of due streams, each pushed forward by one lease so the next tick does not re-send it.

    If the poll task never runs (lost message, dead worker), the stream is due again after the lease time.
    """
    due = Stream.objects.filter(
        enabled=True,
        stopped_at__isnull=True,
        account__is_active=True,
        next_poll_at__lte=now,
    ).values_list("id", flat=True)
    return [
        stream_id
        for stream_id in due[:500]
        if Stream.objects.filter(pk=stream_id, next_poll_at__lte=now).update(
            next_poll_at=_lease_until(now)
        )
    ]


def next_poll_time(
    interval_seconds: int, rate_limit: RateLimit | None, *, now: datetime
) -> datetime:
    """Poll every `interval`, but slower when the rate-limit window would run out before it resets."""
    interval = timedelta(seconds=interval_seconds)
    if (
        rate_limit is None
        or rate_limit.remaining is None
        or rate_limit.reset_at is None
    ):
        return now + interval
    if rate_limit.remaining <= 0:
        return max(now + interval, rate_limit.reset_at + timedelta(seconds=1))
    # Keep one call in reserve and spread the rest over what is left of the window.
    pace = (rate_limit.reset_at - now) / max(rate_limit.remaining - 1, 1)
    return now + max(interval, pace)


def backoff_delay(failures: int) -> timedelta:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s ... capped at X_MAX_BACKOFF_SECONDS."""
    base = min(settings.X_MAX_BACKOFF_SECONDS, 5 * 2 ** max(failures - 1, 0))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto


def _prepare(
    stream: Stream, page: SourcePage, result: PollResult
) -> ingest.PreparedPage:
    """Score the page, plan its SLA clocks and build its statement: no database (fetch-ahead thread)."""
    assert result.keywords is not None
    assert result.policies is not None
    return ingest.prepare_page(
        account_id=stream.account_id,
        stream_id=stream.pk,
        mentions=page.mentions,
        authors=page.authors,
        enrich=True,
        keywords=result.keywords,
        policies=result.policies,
        fast_path=result.fast_path,
    )


def _store(
    stream_id: int,
    owner: str,
    page: SourcePage,
    prepared: ingest.PreparedPage,
    result: PollResult,
    update: dict[str, Any],
    while_waiting: Callable[[], None] | None = None,
) -> None:
    """Store one page and apply `update` (checkpoint or cursor) to the stream, atomically and fenced.

    The fence is the stream UPDATE conditional on our lease, applied after the page's rows (on
    PostgreSQL by the page statement itself, ingest.Fence): it locks the stream row until COMMIT, and
    when another worker has taken the lease over it matches nothing and the whole page rolls back
    (LeaseLostError). The page's rows are the same whoever writes them (unique X ids), and nothing
    commits without the fence. `while_waiting` (FetchAhead.go) runs as the page statement is sent.
    """
    now = timezone.now()
    fields = {**update, "lease_expires_at": _lease_until(now)}
    if page.rate_limit is not None:
        fields["rate_limit_remaining"] = page.rate_limit.remaining
        fields["rate_limit_reset_at"] = page.rate_limit.reset_at
    with transaction.atomic():
        # enrich: the mentions were scored and their SLA clocks planned in `prepared`; the statement
        # writes them with their clocks, and the escalation rules run, all in this transaction
        # (contracts §9).
        stored = ingest.store_prepared(
            prepared,
            now=now,
            while_waiting=while_waiting,
            rules=result.escalation_rules,
            fence=ingest.Fence(stream_id=stream_id, owner=owner, fields=fields),
        )
        if not stored.fenced:
            raise LeaseLostError(f"stream {stream_id} is no longer leased by {owner}")
    result.pages += 1
    result.rate_limit = page.rate_limit or result.rate_limit
    result.created += stored.created
    result.duplicates += stored.duplicates
    result.bad += len(page.bad)


def _window_used_up(page: SourcePage) -> bool:
    return bool(
        page.rate_limit and page.rate_limit.remaining == 0 and page.rate_limit.reset_at
    )


def _after_page(page: SourcePage, result: PollResult, max_pages: int | None) -> None:
    limit = page.rate_limit
    if limit and limit.remaining == 0 and limit.reset_at:
        raise RateLimitedError(
            "rate-limit window used up mid-poll", retry_at=limit.reset_at
        )
    if max_pages is not None and result.pages >= max_pages:
        raise _PageBudgetUsedError


def _poll_posts(
    stream: Stream,
    source: XSource,
    owner: str,
    result: PollResult,
    max_pages: int | None,
) -> None:
    """Fetch and prepare page k+1 in a fetch-ahead thread (mentions/pipeline.py) while page k is stored.

    The thread only talks to X and computes; this thread stores every page, in order, each in its own
    transaction with the checkpoint that page implies (a copy: the thread moves on). The thread stops
    where this loop stops (last page, used-up rate-limit window, page budget), so it never fetches a
    page that is not going to be stored, and an error it meets is raised here after the pages before it
    are stored, as in a sequential loop.
    """
    now = timezone.now()
    cp: dict[str, Any] = dict(stream.checkpoint or {})
    if not cp:
        cp = {"since_id": stream.since_id or None}
        if not stream.since_id and stream.kind == Stream.Kind.SEARCH:
            # No time parameters: recent search defaults to the last 7 days, which is the backfill window.
            # (A start_time kept in the checkpoint would fall outside the window on a late resume.)
            cp["backfill"] = {
                "start": (now - BACKFILL_WINDOW).isoformat(),
                "end": now.isoformat(),
                "oldest": None,
            }
    since_id: str | None = cp.get("since_id")
    resume_until: str | None = cp.get("oldest_stored")
    result.load_rules()

    def pages() -> Iterator[
        tuple[SourcePage, ingest.PreparedPage, dict[str, Any], bool]
    ]:
        token: str | None = None
        fetched = 0
        while True:
            if stream.kind == Stream.Kind.SEARCH:
                page = source.search(
                    stream.query,
                    since_id=since_id,
                    until_id=resume_until,
                    next_token=token,
                )
            else:
                page = source.mentions(
                    since_id=since_id, until_id=resume_until, pagination_token=token
                )
            if "pending" not in cp and page.newest_id:
                cp["pending"] = page.newest_id
            more = bool(page.next_token) and page.result_count > 0
            if more:
                cp["oldest_stored"] = page.oldest_id
                if cp.get("backfill") and page.oldest_created_at:
                    cp["backfill"]["oldest"] = page.oldest_created_at.isoformat()
                update: dict[str, Any] = {"checkpoint": copy.deepcopy(cp)}
            else:
                update = {
                    "checkpoint": None,
                    "since_id": cp.get("pending") or since_id or "",
                }
                if cp.get("backfill"):
                    update["backfill_completed_at"] = timezone.now()
            prepared = _prepare(stream, page, result)
            if result.fast_path:
                # Authors are profiles, not part of the cursor: stored on this thread's own
                # connection while the previous page's statement runs (ingest.store_authors).
                prepared = ingest.store_authors(prepared, now=timezone.now())
            yield page, prepared, update, more
            fetched += 1
            stop = _window_used_up(page) or (
                max_pages is not None and fetched >= max_pages
            )
            if not more or stop:
                return
            token = page.next_token

    with FetchAhead(pages(), name=f"poll-stream-{stream.pk}", paced=True) as ahead:
        for page, prepared, update, more in ahead:
            _store(stream.pk, owner, page, prepared, result, update, ahead.go)
            if not more:
                return
            _after_page(page, result, max_pages)


def _poll_dms(
    stream: Stream,
    source: XSource,
    owner: str,
    result: PollResult,
    max_pages: int | None,
) -> None:
    horizon = timezone.now() - DM_HORIZON
    last_seen = int(stream.since_id) if stream.since_id else 0
    cp: dict[str, Any] = dict(stream.checkpoint or {})
    token: str | None = cp.get("next_token")
    while True:
        try:
            page = source.dm_events(pagination_token=token)
        except PermanentError as exc:
            if token and exc.status == 400:
                # The saved pagination token is no longer accepted: start again from the newest event;
                # whatever we stored already is absorbed by the unique X id.
                logger.warning(
                    "x: stream %s: pagination token refused, restarting the DM walk",
                    stream.pk,
                )
                cp, token = {}, None
                continue
            raise
        if "pending" not in cp and page.newest_id:
            cp["pending"] = page.newest_id
        page.mentions = [
            m
            for m in page.mentions
            if int(m.x_id) > last_seen and m.created_at >= horizon
        ]
        reached_end = (
            not page.next_token
            or (page.oldest_id is not None and int(page.oldest_id) <= last_seen)
            or (page.oldest_created_at is not None and page.oldest_created_at < horizon)
        )
        if reached_end:
            update: dict[str, Any] = {
                "checkpoint": None,
                "since_id": cp.get("pending") or stream.since_id,
            }
        else:
            update = {"checkpoint": {**cp, "next_token": page.next_token}}
        result.load_rules()
        _store(stream.pk, owner, page, _prepare(stream, page, result), result, update)
        if reached_end:
            return
        _after_page(page, result, max_pages)
        token = page.next_token


def _finish(stream_id: int, owner: str, **fields: Any) -> None:
    """Write the poll's outcome and release the lease, unless another worker has taken the stream over."""
    Stream.objects.filter(pk=stream_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None, **fields
    )


def poll_stream(
    stream_id: int,
    *,
    owner: str | None = None,
    max_pages: int | None = None,
    source: XSource | None = None,
) -> PollResult:
    """Poll one stream once: fetch every new page (or up to `max_pages`), store it, move the cursor."""
    owner = owner or new_owner()
    now = timezone.now()
    result = PollResult()
    if not claim_stream(stream_id, owner=owner, now=now):
        result.outcome = Outcome.SKIPPED
        return result
    stream = Stream.objects.select_related("account").get(pk=stream_id)
    try:
        source = source or accounts.source_for(stream.account, now=now)
        if stream.kind == Stream.Kind.DMS:
            _poll_dms(stream, source, owner, result, max_pages)
        else:
            _poll_posts(stream, source, owner, result, max_pages)
    except LeaseLostError as exc:
        logger.warning("x: stream %s: %s; stopping this poll", stream_id, exc)
        result.outcome = Outcome.SKIPPED
        return result
    except _PageBudgetUsedError:
        result.outcome = Outcome.PAUSED
        _finish(
            stream_id,
            owner,
            next_poll_at=timezone.now(),
            consecutive_failures=0,
            last_success_at=timezone.now(),
        )
        return result
    except RateLimitedError as exc:
        logger.info(
            "x: stream %s rate-limited until %s", stream_id, exc.retry_at.isoformat()
        )
        result.outcome = Outcome.RATE_LIMITED
        _finish(
            stream_id,
            owner,
            next_poll_at=max(exc.retry_at + timedelta(seconds=1), timezone.now()),
            rate_limit_remaining=0,
            rate_limit_reset_at=exc.retry_at,
        )
        return result
    except TransientError as exc:
        failures = stream.consecutive_failures + 1
        logger.warning(
            "x: stream %s failed (%s in a row): %s", stream_id, failures, exc.message
        )
        result.outcome, result.error = Outcome.RETRYING, exc.message
        when = timezone.now()
        _finish(
            stream_id,
            owner,
            consecutive_failures=failures,
            last_error=exc.message,
            last_error_at=when,
            next_poll_at=when + backoff_delay(failures),
        )
        return result
    except (
        SourceError
    ) as exc:  # PermanentError: retrying cannot help, so stop and say why
        logger.error("x: stream %s stopped: %s", stream_id, exc.message)
        result.outcome, result.error = Outcome.STOPPED, exc.message
        when = timezone.now()
        _finish(
            stream_id,
            owner,
            stopped_at=when,
            last_error=exc.message,
            last_error_at=when,
        )
        return result
    except BaseException:
        # A bug or an interrupt: release the lease now rather than making the stream wait for it to lapse.
        _finish(stream_id, owner)
        raise
    done = timezone.now()
    _finish(
        stream_id,
        owner,
        next_poll_at=next_poll_time(
            stream.poll_interval_seconds, result.rate_limit, now=done
        ),
        consecutive_failures=0,
        last_error="",
        last_success_at=done,
    )
    return result


def resume_stream(stream_id: int) -> None:
    """Clear a stop (after an admin fixed the token or query) so the stream is polled again at once."""
    Stream.objects.filter(pk=stream_id).update(
        stopped_at=None, consecutive_failures=0, next_poll_at=timezone.now()
    )
