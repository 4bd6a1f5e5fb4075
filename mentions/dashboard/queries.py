"""The dashboard's SQL aggregates: one grouped query per figure group, never a loop over rows.

Populations (also written on the page):
- SLA figures read the clocks that started in the range (for first response and resolution: the
  mentions posted in the range). Durations (median, p90, mean) cover stopped clocks only; running
  clocks are counted separately as "still open".
- Volume, detection lag and per-agent figures read the mentions posted in the range.
- The backlog reads resolution clocks: a mention is in the backlog from its post until its resolution
  clock stops (resolved, or set to monitoring/spam), so a reopened mention (a new resolution cycle)
  counts again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction

from mentions.dashboard import sql
from mentions.dashboard.figures import (
    Backlog,
    BacklogPoint,
    CountRow,
    Dashboard,
    Durations,
    Heatmap,
    TargetSummary,
    TrendPoint,
    Volume,
    VolumePoint,
)
from mentions.dashboard.filters import (
    CLOCK,
    MENTION,
    MENTION_STREAM,
    DashboardFilters,
    clock_source,
    db_datetime,
    mention_conditions,
    mention_range,
)
from mentions.dashboard.measures import clock_seconds, durations, durations_sql
from mentions.dashboard.people import people_rows, people_tables
from mentions.models import Mention, Stream
from mentions.sla.models import SlaClock

CHANNELS = ["reply", "dm", "email", "phone"]
TARGET_LABELS = dict(SlaClock.Target.choices)

# Outcome of a clock, as SQL conditions on alias c (see docs/dashboard.md).
STOPPED = "c.stopped_at IS NOT NULL AND c.state <> 'cancelled'"
ON_TIME = "c.stopped_at IS NOT NULL AND c.state = 'met' AND NOT c.is_late"
LATE = f"{STOPPED} AND (c.state <> 'met' OR c.is_late)"
BREACHED_OPEN = "c.stopped_at IS NULL AND c.state = 'breached'"
ACTIVE = "c.stopped_at IS NULL AND c.state IN ('active', 'paused')"
PAUSED = "c.stopped_at IS NULL AND c.state = 'paused'"
CANCELLED = "c.state = 'cancelled'"

SENTIMENT = (
    "CASE WHEN m.sentiment IS NULL THEN 'unscored' WHEN m.sentiment <= -0.05 THEN 'negative'"
    " WHEN m.sentiment >= 0.05 THEN 'positive' ELSE 'neutral' END"
)
OPEN_STATUSES = [Mention.Status.NEW, Mention.Status.OPEN, Mention.Status.WAITING]


def target_summaries(f: DashboardFilters) -> list[TargetSummary]:
    """SLA outcomes, durations and answer channels per target: one query over the clocks."""
    source, where, params = clock_source(f)
    channel_counts = ", ".join(
        f"COUNT(*) FILTER (WHERE {STOPPED} AND c.stopped_by_channel = '{ch}')"
        for ch in CHANNELS
    )
    rows = sql.run(
        f"SELECT c.target, COUNT(*) FILTER (WHERE {ON_TIME}), COUNT(*) FILTER (WHERE {LATE}),"  # noqa: S608 (constant fragments; values are parameters)
        f" COUNT(*) FILTER (WHERE {BREACHED_OPEN}), COUNT(*) FILTER (WHERE {ACTIVE}),"
        f" COUNT(*) FILTER (WHERE {PAUSED}), COUNT(*) FILTER (WHERE {CANCELLED}),"
        f" {durations_sql(clock_seconds(f), STOPPED)}, {channel_counts}"
        f" FROM {source} WHERE {where} GROUP BY c.target",
        params,
    )
    found = {row[0]: row for row in rows}
    summaries = []
    for target in SlaClock.Target.values:
        row = found.get(target, (target, *([0] * 6), 0, None, None, *([0] * 4)))
        is_response = target != SlaClock.Target.RESOLUTION
        summaries.append(
            TargetSummary(
                target=target,
                label=str(TARGET_LABELS[target]),
                on_time=int(row[1]),
                late=int(row[2]),
                breached_open=int(row[3]),
                active=int(row[4]),
                paused=int(row[5]),
                cancelled=int(row[6]),
                durations=durations(row[7:10]),
                channels=(
                    {ch: int(n) for ch, n in zip(CHANNELS, row[10:14], strict=True)}
                    if is_response
                    else {}
                ),
            )
        )
    return summaries


def buckets(f: DashboardFilters) -> list[datetime]:
    step = timedelta(hours=1) if f.hourly else timedelta(days=1)
    at, out = f.start_at, []
    while at < f.end_at:
        out.append(at)
        at += step
    return out


def first_response_trend(f: DashboardFilters) -> list[TrendPoint]:
    """First-response median, p90 and mean per day (per hour for short ranges) of the post time."""
    source, where, params = clock_source(f)
    b = sql.bucket("c.started_at", f.hourly)
    rows = sql.run(
        f"SELECT {b}, {durations_sql(clock_seconds(f), STOPPED)},"  # noqa: S608 (constant fragments; values are parameters)
        f" COUNT(*) FILTER (WHERE {BREACHED_OPEN} OR {ACTIVE})"
        f" FROM {source} WHERE {where} AND c.target = 'first_response' GROUP BY {b}",
        params,
    )
    found = {sql.as_datetime(r[0]): r for r in rows}
    empty = (None, 0, None, None, 0)
    return [
        TrendPoint(at=at, durations=durations(row[1:4]), open=int(row[4]))
        for at in buckets(f)
        for row in [found.get(at, empty)]
    ]


def volume(f: DashboardFilters) -> tuple[Volume, Heatmap]:
    """Inbound mentions per bucket and kind, by sentiment, by current status and by hour of week.

    One scan of the range with grouping sets; the result is at most buckets x 2 + 4 + 6 + 168 rows.
    """
    where, params = mention_range(f)
    inner = (
        f"SELECT {sql.bucket('m.created_at', f.hourly)} AS b, m.kind AS kind,"  # noqa: S608 (constant fragments; values are parameters)
        f" {SENTIMENT} AS sentiment, m.status AS status,"
        f" {sql.weekday('m.created_at')} AS wd, {sql.hour('m.created_at')} AS hr"
        f" FROM {MENTION} m WHERE {where}"
    )
    rows = sql.grouping_sets(
        inner,
        params,
        ["b", "kind", "sentiment", "status", "wd", "hr"],
        [("b", "kind"), ("sentiment",), ("status",), ("wd", "hr")],
    )
    per_bucket: dict[datetime, dict[str, int]] = {}
    by_kind = dict.fromkeys(Mention.Kind.values, 0)
    by_sentiment = dict.fromkeys(["negative", "neutral", "positive", "unscored"], 0)
    by_status = dict.fromkeys(Mention.Status.values, 0)
    cells: dict[tuple[int, int], int] = {}
    for group, at, kind, sentiment, status, wd, hr, count in rows:
        if group == 0:
            slot = per_bucket.setdefault(sql.as_datetime(at), {})
            slot[kind] = count
            by_kind[kind] = by_kind.get(kind, 0) + count
        elif group == 1:
            by_sentiment[sentiment] = count
        elif group == 2:
            by_status[status] = count
        else:
            cells[(int(wd), int(hr))] = count
    points = []
    for at in buckets(f):
        slot = per_bucket.get(at, {})
        posts, dms = slot.get("post", 0), slot.get("dm", 0)
        points.append(VolumePoint(at=at, total=posts + dms, posts=posts, dms=dms))
    return (
        Volume(
            points=points,
            by_kind=by_kind,
            by_sentiment=by_sentiment,
            by_status=by_status,
        ),
        Heatmap(cells),
    )


def by_stream(f: DashboardFilters) -> list[CountRow]:
    """Mentions per stream that matched them (a post matched by two streams counts in both)."""
    where, params = mention_range(f)
    rows = sql.run(
        f"SELECT ms.stream_id, COUNT(*) FROM {MENTION_STREAM} ms JOIN {MENTION} m"  # noqa: S608 (constant fragments; values are parameters)
        f" ON m.id = ms.mention_id WHERE {where} GROUP BY ms.stream_id",
        params,
    )
    names = dict(
        Stream.objects.filter(id__in=[r[0] for r in rows]).values_list("id", "name")
    )
    return sorted(
        (
            CountRow(key=sid, label=names.get(sid, f"#{sid}"), count=n)
            for sid, n in rows
        ),
        key=lambda r: (-r.count, r.label),
    )


def answers_heatmap(f: DashboardFilters) -> Heatmap:
    """When we answer: first and next responses of the range by the hour of week they stopped."""
    source, where, params = clock_source(f)
    rows = sql.run(
        f"SELECT {sql.weekday('c.stopped_at')}, {sql.hour('c.stopped_at')}, COUNT(*)"  # noqa: S608 (constant fragments; values are parameters)
        f" FROM {source} WHERE {where} AND c.target IN ('first_response', 'next_response')"
        f" AND {STOPPED} GROUP BY 1, 2",
        params,
    )
    return Heatmap({(int(d), int(h)): int(n) for d, h, n in rows})


def detection_lag(f: DashboardFilters) -> Durations:
    """Post time -> ingested, over the mentions posted in the range (never inside response times)."""
    where, params = mention_range(f)
    lag = sql.seconds_between("m.ingested_at", "m.created_at")
    rows = sql.run(
        f"SELECT {durations_sql(lag, None)} FROM {MENTION} m WHERE {where}",  # noqa: S608 (constant fragments; values are parameters)
        params,
    )
    return durations(rows[0])


def backlog(f: DashboardFilters, *, now: datetime) -> Backlog:
    """Open mentions now (by status, any post date) and the backlog at the end of each bucket.

    Over time: baseline (resolution clocks started before the range and not stopped by its start) plus
    the running sum of clocks starting (+1) and stopping (-1) per bucket. A clock cancelled without a
    stop time never enters. Mentions with no resolution clock (no policy sets one) are in "open now"
    but not in the curve.
    """
    now_open = backlog_now(f, now=now)
    conditions, cparams = mention_conditions(f)
    join = f" JOIN {MENTION} m ON m.id = c.mention_id" if f.has_mention_filters else ""
    filt = f" AND {conditions}" if f.has_mention_filters else ""
    fparams = cparams if f.has_mention_filters else []
    start, end = db_datetime(f.start_at), db_datetime(f.end_at)
    base = f"FROM {CLOCK} c{join} WHERE c.target = 'resolution'{filt}"
    baseline = sql.run(
        f"SELECT COUNT(*) {base} AND c.started_at < %s AND ((c.stopped_at IS NULL"
        f" AND c.state <> 'cancelled') OR c.stopped_at >= %s)",
        [*fparams, start, start],
    )[0][0]
    b_start, b_stop = (
        sql.bucket("c.started_at", f.hourly),
        sql.bucket("c.stopped_at", f.hourly),
    )
    deltas = sql.run(
        f"SELECT d, SUM(delta) FROM (SELECT {b_start} AS d, 1 AS delta {base}"  # noqa: S608 (constant fragments; values are parameters)
        f" AND c.started_at >= %s AND c.started_at < %s"
        f" AND NOT (c.state = 'cancelled' AND c.stopped_at IS NULL)"
        f" UNION ALL SELECT {b_stop} AS d, -1 AS delta {base}"
        f" AND c.stopped_at >= %s AND c.stopped_at < %s) AS ev GROUP BY d",
        [*fparams, start, end, *fparams, start, end],
    )
    delta_at = {sql.as_datetime(d): int(n) for d, n in deltas}
    step = timedelta(hours=1) if f.hourly else timedelta(days=1)
    running, points = int(baseline), []
    for at in buckets(f):
        running += delta_at.get(at, 0)
        points.append(BacklogPoint(at=at + step, open=running))
    return Backlog(
        open_now=now_open.open_now,
        by_status=now_open.by_status,
        oldest_created_at=now_open.oldest_created_at,
        oldest_age_seconds=now_open.oldest_age_seconds,
        points=points,
    )


def backlog_now(f: DashboardFilters, *, now: datetime) -> Backlog:
    """Open mentions now by status (any post date, the other filters apply) and the oldest's age."""
    conditions, cparams = mention_conditions(f)
    open_rows = sql.run(
        f"SELECT m.status, COUNT(*), MIN(m.created_at) FROM {MENTION} m"  # noqa: S608 (constant fragments; values are parameters)
        f" WHERE m.status IN ('new', 'open', 'waiting') AND {conditions} GROUP BY m.status",
        cparams,
    )
    by_status = {str(s): 0 for s in OPEN_STATUSES}
    oldest: datetime | None = None
    for status, count, first in open_rows:
        by_status[status] = int(count)
        first_at = sql.as_datetime(first)
        oldest = first_at if oldest is None or first_at < oldest else oldest

    return Backlog(
        open_now=sum(by_status.values()),
        by_status=by_status,
        oldest_created_at=oldest,
        oldest_age_seconds=(now - oldest).total_seconds() if oldest else None,
        points=[],
    )


def build_dashboard(
    f: DashboardFilters, *, now: datetime, only_agent: int | None = None
) -> Dashboard:
    """Every figure of the page for `f`; `only_agent` keeps the per-agent table to that agent's row."""
    with transaction.atomic():
        if sql.is_postgres():
            # Percentile sorts of a 90-day range stay in memory instead of spilling to disk, and these
            # one-off aggregates do not pay for JIT compilation (about 100 ms per query on 90 days).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("SET LOCAL jit = off")
        inbound, customers = volume(f)
        if only_agent is None:
            agents, teams = people_tables(f)
        else:
            agents, teams = people_rows(f, by="agent", only_agent=only_agent), []
        return Dashboard(
            targets=target_summaries(f),
            trend=first_response_trend(f),
            volume=inbound,
            streams=by_stream(f),
            customers_heatmap=customers,
            answers_heatmap=answers_heatmap(f),
            detection_lag=detection_lag(f),
            backlog=backlog(f, now=now),
            agents=agents,
            teams=teams,
        )
