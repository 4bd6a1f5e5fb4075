"""The daily rollup: build and refresh it, and read the unfiltered dashboard from it.

Grain: one UTC day (the page's days are UTC) x the figure's own breakdown: overall (`grp='all'`), per
agent and per team (the people tables). Filters other than the range, and ranges of up to two days
(hourly trends), are computed live from the base tables (queries.py), exactly as before.

Freshness (docs/dashboard.md "Rollup"):
- today is never in the rollup: the page computes it live from the base tables, with the same SQL
  (facts.py) the build uses, and adds it to the closed days' rows in one query;
- a closed day changes when a mention posted that day, or one of its clocks, changes later (an answer,
  a status change, a reopen, a reassignment, a policy reapplied: all bump `Mention.updated_at`) or when
  the sweep marks one of its clocks breached (`SlaClock.breached_at`). `refresh` (beat, every minute)
  recomputes those days and the last RECENT_DAYS closed days; until it has, the page computes the
  days of mentions changed since the last refresh live too, so a late answer, reopen or reassignment
  shows at once (a breach marked by the sweep on a closed day shows after the next refresh);
- days never built (a fresh install, an upgrade) are computed live until `refresh` has filled them in,
  BACKFILL_DAYS per run, newest first; `manage.py rollupdashboard` rebuilds any range at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django.db import connection, transaction

from mentions.dashboard import bins, facts, sql
from mentions.dashboard.facts import Ranges, day_of, days_to_ranges
from mentions.dashboard.figures import (
    Backlog,
    BacklogPoint,
    CountRow,
    Dashboard,
    Durations,
    Heatmap,
    PeopleRow,
    TargetSummary,
    TrendPoint,
    Volume,
    VolumePoint,
)
from mentions.dashboard.filters import CLOCK, MENTION, DashboardFilters, db_datetime
from mentions.dashboard.models import (
    RollupCount,
    RollupDay,
    RollupHistogram,
    RollupState,
    RollupTrend,
    RollupWeekHistogram,
)
from mentions.dashboard.people import label_of, people_names, sort_people
from mentions.dashboard.queries import (
    CHANNELS,
    TARGET_LABELS,
    backlog_now,
    build_dashboard,
)
from mentions.models import Mention, Stream
from mentions.sla.models import SlaClock

RECENT_DAYS = 2
BACKFILL_DAYS = 31
# Changes are looked for from this long before the previous refresh started: a transaction that
# stamped updated_at before that start but committed after it is still seen.
CHANGE_MARGIN = timedelta(minutes=10)
COUNTS = RollupCount._meta.db_table
HISTOGRAMS = RollupHistogram._meta.db_table
TRENDS = RollupTrend._meta.db_table
WEEKS = RollupWeekHistogram._meta.db_table
PER_DAY = ("kind", "outcome")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


# --- Building ------------------------------------------------------------------------------------


def build_days(days: set[date], *, now: datetime) -> int:
    """Recompute the rollup rows of `days` from the base tables; return how many days were written.

    Each run of consecutive days is deleted and re-inserted in one transaction (INSERT ... SELECT,
    nothing passes through Python but the two trend rows per day), so a reader sees a day either
    before or after, never half-built.
    """
    sql.prepare_connection()
    for ranges in _chunks(days_to_ranges(days), 7):
        with transaction.atomic(), connection.cursor() as cursor:
            for table in (COUNTS, HISTOGRAMS, TRENDS):
                where, params = _day_ranges("day", ranges)
                cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608 (our table names; values are parameters)
            counts, params = facts.count_rows(ranges)
            cursor.execute(
                f"INSERT INTO {COUNTS} (day, measure, grp, key, bucket, n) {counts}",
                params,
            )
            histograms, params = facts.histogram_rows(ranges)
            cursor.execute(
                f"INSERT INTO {HISTOGRAMS} (day, measure, grp, key, bin, n, total) {histograms}",
                params,
            )
            trends, params = facts.trend_rows(ranges)
            cursor.execute(trends, params)
            RollupTrend.objects.bulk_create(
                RollupTrend(
                    day=_day(d), measure=m, n=n, median=p[0], p90=p[1], total=t or 0.0
                )
                for d, m, n, pcts, t in cursor.fetchall()
                for p in [sql.read_percentiles(pcts, 2)]
            )
            built = [d for first, after in ranges for d in _each_day(first, after)]
            RollupDay.objects.filter(day__in=built).delete()
            RollupDay.objects.bulk_create(RollupDay(day=d, built_at=now) for d in built)
            for monday in sorted({monday_of(d) for d in built}):
                cursor.execute(f"DELETE FROM {WEEKS} WHERE week = %s", [monday])  # noqa: S608 (our table name)
                cursor.execute(
                    f"INSERT INTO {WEEKS} (week, measure, grp, key, bin, n, total)"  # noqa: S608 (our table names; values are parameters)
                    f" SELECT %s, measure, grp, key, bin, SUM(n), SUM(total) FROM {HISTOGRAMS}"
                    " WHERE day >= %s AND day < %s GROUP BY measure, grp, key, bin",
                    [monday, monday, monday + timedelta(days=7)],
                )
    return len(days)


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _chunks(ranges: Ranges, size: int) -> list[Ranges]:
    """Split ranges so each chunk covers at most `size` days (bounded transactions)."""
    out: list[Ranges] = []
    current: Ranges = []
    count = 0
    for first, after in ranges:
        while first < after:
            take = min(after, first + timedelta(days=size - count))
            current.append((first, take))
            count += (take - first).days
            first = take
            if count == size:
                out.append(current)
                current, count = [], 0
    if current:
        out.append(current)
    return out


def _each_day(first: date, after: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((after - first).days)]


def _day_ranges(column: str, ranges: Ranges) -> tuple[str, list[Any]]:
    parts, params = [], []
    for first, after in ranges:
        parts.append(f"({column} >= %s AND {column} < %s)")
        params += [first, after]
    return "(" + " OR ".join(parts) + ")", params


def changed_days(since: datetime, *, now: datetime, breaches: bool = True) -> set[date]:
    """The days whose rollup rows may have changed since `since`.

    - a mention changed (`updated_at`, indexed): the day it was posted and the start days of its
      clocks (a reopened mention's new resolution cycle starts on a later day);
    - a clock the sweep marked breached (`breached_at`; the sweep does not touch the mention): its
      start day and its mention's day. The running-due partial index finds overdue running clocks.
    """
    s, n = db_datetime(since), db_datetime(now)
    breached = "c.state = 'breached' AND c.stopped_at IS NULL AND c.due_at <= %s AND c.breached_at >= %s"
    query = (
        f"SELECT DISTINCT {day_of('m.created_at')} FROM {MENTION} m WHERE m.updated_at >= %s"  # noqa: S608 (constant fragments; values are parameters)
        f" UNION SELECT DISTINCT {day_of('c.started_at')} FROM {CLOCK} c"
        f" JOIN {MENTION} m ON m.id = c.mention_id WHERE m.updated_at >= %s"
    )
    params = [s, s]
    if breaches:
        query += (
            f" UNION SELECT DISTINCT {day_of('c.started_at')} FROM {CLOCK} c WHERE {breached}"  # noqa: S608 (constant fragments; values are parameters)
            f" UNION SELECT DISTINCT {day_of('m.created_at')} FROM {CLOCK} c"
            f" JOIN {MENTION} m ON m.id = c.mention_id WHERE {breached}"
        )
        params += [n, s, n, s]
    rows = sql.run(query, params)
    return {_day(r[0]) for r in rows if r[0] is not None}


def first_day() -> date | None:
    rows = sql.run(f"SELECT MIN(created_at) FROM {MENTION}", [])  # noqa: S608 (constant table name)
    return utc_day(sql.as_datetime(rows[0][0])) if rows and rows[0][0] else None


@dataclass(frozen=True)
class RefreshReport:
    changed: int
    recent: int
    backfilled: int
    built: list[date]


def refresh(
    *, now: datetime, recent_days: int = RECENT_DAYS, backfill_days: int = BACKFILL_DAYS
) -> RefreshReport:
    """Fold late changes into the rollup: changed days, the recent closed days, missing days.

    Concurrent runs (two beat ticks, the command) serialise on the state row.
    """
    today = utc_day(now)
    with transaction.atomic():
        RollupState.objects.get_or_create(id=1)
        state = RollupState.objects.select_for_update().get(id=1)
        changed: set[date] = set()
        if state.changes_seen_at is not None:
            changed = changed_days(state.changes_seen_at - CHANGE_MARGIN, now=now)
        recent = {today - timedelta(days=k) for k in range(1, recent_days + 1)}
        missing: set[date] = set()
        start = first_day()
        if start is not None:
            built = set(
                RollupDay.objects.filter(day__gte=start).values_list("day", flat=True)
            )
            missing = set(
                sorted(
                    (d for d in _each_day(start, today) if d not in built),
                    reverse=True,
                )[:backfill_days]
            )
        days = {d for d in changed | recent | missing if d < today}
        if start is not None:
            days = {d for d in days if d >= start}
        build_days(days, now=now)
        state.changes_seen_at = now
        state.save(update_fields=["changes_seen_at"])
    return RefreshReport(
        changed=len({d for d in changed if d < today}),
        recent=len(recent),
        backfilled=len(missing - changed - recent),
        built=sorted(days),
    )


def rebuild(first: date, last: date, *, now: datetime) -> int:
    """Recompute every day from `first` to `last` (inclusive, capped at yesterday)."""
    last = min(last, utc_day(now) - timedelta(days=1))
    if last < first:
        return 0
    return build_days(set(_each_day(first, last + timedelta(days=1))), now=now)


# --- Reading -------------------------------------------------------------------------------------


def covers(f: DashboardFilters) -> bool:
    """Whether the page reads `f` from the rollup: daily, unfiltered, with some closed day built."""
    if f.hourly or f.has_mention_filters:
        return False
    return RollupDay.objects.filter(day__gte=f.start, day__lte=f.end).exists()


def live_days(first: date, last: date, *, now: datetime) -> set[date]:
    """Days of [first, last] the page computes from the base tables: today, unbuilt and changed days."""
    today = utc_day(now)
    wanted = {d for d in _each_day(first, last + timedelta(days=1)) if d <= today}
    built = set(
        RollupDay.objects.filter(day__gte=first, day__lte=last).values_list(
            "day", flat=True
        )
    )
    live = {d for d in wanted if d not in built or d >= today}
    seen = (
        RollupState.objects.filter(id=1)
        .values_list("changes_seen_at", flat=True)
        .first()
    )
    if seen is not None:
        # Breaches are left to the refresh (a minute at most): finding them scans every overdue
        # running clock, which would cost each page view more than the rest of the rollup's reads.
        live |= {
            d for d in changed_days(seen, now=now, breaches=False) if first <= d <= last
        }
    return live


def _source(
    table: str,
    columns: str,
    live_sql: tuple[str, list[Any]] | None,
    first: date,
    last: date,
    live: set[date],
    extra: str = "",
) -> tuple[str, list[Any]]:
    """The rollup's rows of [first, last] for the closed days plus the live rows of `live` days."""
    where = "day >= %s AND day <= %s"
    params: list[Any] = [first, last]
    if live:
        where += f" AND day NOT IN ({', '.join(['%s'] * len(live))})"
        params += sorted(live)
    query = f"SELECT {columns} FROM {table} WHERE {where}{extra}"  # noqa: S608 (constant fragments; values are parameters)
    if live and live_sql is not None:
        query = f"{query} UNION ALL SELECT {columns} FROM ({live_sql[0]}) AS live WHERE 1 = 1{extra}"  # noqa: S608 (constant fragments; values are parameters)
        params += live_sql[1]
    return query, params


def read_dashboard(f: DashboardFilters, *, now: datetime) -> Dashboard:
    """Every figure of the unfiltered daily page, from the rollup plus the live days."""
    first, last = f.start, f.end
    origin = first_day() or first
    live = live_days(min(origin, first), last, now=now)
    in_range = {d for d in live if first <= d <= last}
    ranges = days_to_ranges(in_range)
    suffix = "bus" if f.business else "cal"

    count_live = facts.count_rows(ranges) if ranges else None
    day_col = (
        f"CASE WHEN measure IN ({', '.join(repr(m) for m in PER_DAY)}) THEN day END"
    )
    src, params = _source(
        COUNTS,
        "day, measure, grp, key, bucket, n",
        count_live,
        first,
        last,
        in_range,
        " AND measure NOT IN ('res_start', 'res_stop')",
    )
    counts = sql.run(
        f"SELECT {day_col} AS d, measure, grp, key, bucket, SUM(n) FROM ({src}) AS x"  # noqa: S608 (constant fragments; values are parameters)
        f" GROUP BY {day_col}, measure, grp, key, bucket",
        params,
    )

    measures = [
        f"first_response:{suffix}",
        f"next_response:{suffix}",
        f"resolution:{suffix}",
        "lag",
    ]
    histograms = _histograms(first, last, live=in_range, measures=measures)

    trend_live = facts.trend_rows(ranges) if ranges else None
    src, params = _source(
        TRENDS,
        "day, measure, n, median, p90, total",
        None,
        first,
        last,
        in_range,
        f" AND measure = 'first_response:{suffix}'",
    )
    trend = [
        (_day(r[0]), int(r[2]), r[3], r[4], float(r[5] or 0.0))
        for r in sql.run(src, params)
    ]
    if trend_live is not None:
        for d, m, n, pcts, total in sql.run(trend_live[0], trend_live[1]):
            if m == f"first_response:{suffix}":
                median, p90 = sql.read_percentiles(pcts, 2)
                trend.append((_day(d), int(n), median, p90, float(total or 0.0)))

    return _assemble(f, now=now, counts=counts, histograms=histograms, trend=trend,
                     backlog=_backlog(f, now=now, origin=origin, live=live))  # fmt: skip


def _histograms(
    first: date, last: date, *, live: set[date], measures: list[str]
) -> list[tuple[Any, ...]]:
    """Summed bins per (measure, grp, key) over [first, last].

    Whole weeks whose days are all built and none live come from the week rows, the other closed days
    from the day rows, the live days from the base tables.
    """
    built = set(
        RollupDay.objects.filter(day__gte=first, day__lte=last).values_list(
            "day", flat=True
        )
    )
    weeks = sorted(
        monday
        for monday in {monday_of(d) for d in _each_day(first, last + timedelta(days=1))}
        if monday >= first
        and monday + timedelta(days=6) <= last
        and all(
            d in built and d not in live
            for d in _each_day(monday, monday + timedelta(days=7))
        )
    )
    in_weeks = {
        d for monday in weeks for d in _each_day(monday, monday + timedelta(days=7))
    }
    m_list = ", ".join(f"'{m}'" for m in measures)
    columns = "measure, grp, key, bin, n, total"
    parts = []
    params: list[Any] = []
    if weeks:
        parts.append(
            f"SELECT {columns} FROM {WEEKS} WHERE measure IN ({m_list})"  # noqa: S608 (constant fragments; values are parameters)
            f" AND week IN ({', '.join(['%s'] * len(weeks))})"
        )
        params += weeks
    # The other closed days by name: a range condition would walk the weeks' day rows too.
    days = sorted(
        d
        for d in _each_day(first, last + timedelta(days=1))
        if d not in live and d not in in_weeks
    )
    where = (
        f"measure IN ({m_list}) AND day IN ({', '.join(['%s'] * len(days)) or 'NULL'})"
    )
    params += days
    parts.append(f"SELECT {columns} FROM {HISTOGRAMS} WHERE {where}")  # noqa: S608 (constant fragments; values are parameters)
    if live:
        live_sql, live_params = facts.histogram_rows(days_to_ranges(live))
        parts.append(
            f"SELECT {columns} FROM ({live_sql}) AS live WHERE measure IN ({m_list})"  # noqa: S608 (constant fragments; values are parameters)
        )
        params += live_params
    return sql.run(
        f"SELECT measure, grp, key, bin, SUM(n), SUM(total) FROM ({' UNION ALL '.join(parts)}) AS x"  # noqa: S608 (constant fragments; values are parameters)
        " GROUP BY measure, grp, key, bin ORDER BY measure, grp, key, bin",
        params,
    )


def _backlog(
    f: DashboardFilters, *, now: datetime, origin: date, live: set[date]
) -> Backlog:
    """Backlog over time from the resolution clocks' start and stop counts (all days up to the end)."""
    first = min(origin, f.start)
    before_end = {d for d in live if d <= f.end}
    ranges = days_to_ranges(before_end)
    count_live = facts.count_rows(ranges) if ranges else None
    src, params = _source(
        COUNTS,
        "day, measure, grp, key, bucket, n",
        count_live,
        first,
        f.end,
        before_end,
        " AND measure IN ('res_start', 'res_stop')",
    )
    rows = sql.run(
        f"SELECT day, measure, bucket, SUM(n) FROM ({src}) AS x GROUP BY day, measure, bucket",  # noqa: S608 (constant fragments; values are parameters)
        params,
    )
    baseline = 0
    delta: defaultdict[date, int] = defaultdict(int)
    for d, measure, bucket, n in rows:
        started = _day(d)
        if measure == "res_start":
            if started < f.start:
                baseline += int(n)
            else:
                delta[started] += int(n)
        else:
            stopped = _day(bucket)
            if stopped < f.start:
                if started < f.start:
                    baseline -= int(n)
            elif stopped <= f.end:
                delta[stopped] -= int(n)
    running, points = baseline, []
    for day in _each_day(f.start, f.end + timedelta(days=1)):
        running += delta.get(day, 0)
        at = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        points.append(BacklogPoint(at=at, open=running))
    now_open = backlog_now(f, now=now)
    return Backlog(
        open_now=now_open.open_now,
        by_status=now_open.by_status,
        oldest_created_at=now_open.oldest_created_at,
        oldest_age_seconds=now_open.oldest_age_seconds,
        points=points,
    )


def _durations(hist: list[tuple[int, int, float]]) -> Durations:
    """Count and mean exact; median and p90 from the bins (bins.py states the bound)."""
    pairs = [(b, n) for b, n, _ in hist]
    count = sum(n for _, n in pairs)
    total = sum(t for _, _, t in hist)
    return Durations(
        count=count,
        median=bins.percentile(pairs, 0.5),
        p90=bins.percentile(pairs, 0.9),
        mean=total / count if count else None,
        approximate=True,
    )


def _assemble(
    f: DashboardFilters,
    *,
    now: datetime,
    counts: list[tuple[Any, ...]],
    histograms: list[tuple[Any, ...]],
    trend: list[tuple[date, int, float | None, float | None, float]],
    backlog: Backlog,
) -> Dashboard:
    per_day: defaultdict[tuple[date, str], dict[str, int]] = defaultdict(dict)
    total: defaultdict[str, dict[str, int]] = defaultdict(dict)
    people: defaultdict[tuple[str, int | None], dict[str, int]] = defaultdict(dict)
    for d, measure, grp, key, bucket, n in counts:
        if grp != "all":
            people[(grp, key)][f"{measure}:{bucket}"] = int(n)
        elif d is not None:
            slot = per_day[(_day(d), measure)]
            slot[bucket] = slot.get(bucket, 0) + int(n)
        else:
            total[measure][bucket] = total[measure].get(bucket, 0) + int(n)
    for (_, measure), slot in per_day.items():
        for bucket, n in slot.items():
            total[measure][bucket] = total[measure].get(bucket, 0) + n

    hist: defaultdict[tuple[str, str, int | None], list[tuple[int, int, float]]] = (
        defaultdict(list)
    )
    for measure, grp, key, b, n, t in histograms:
        hist[(measure.split(":")[0], grp, key)].append((int(b), int(n), float(t or 0)))

    outcome = total["outcome"]
    channels = total["channel"]
    targets = []
    for target in SlaClock.Target.values:

        def get(name: str, target: str = target) -> int:
            return outcome.get(f"{target}:{name}", 0)

        targets.append(
            TargetSummary(
                target=target,
                label=str(TARGET_LABELS[target]),
                on_time=get("on_time"),
                late=get("late"),
                breached_open=get("breached_open"),
                active=get("active") + get("paused"),
                paused=get("paused"),
                cancelled=get("cancelled"),
                durations=_durations(hist[(target, "all", None)]),
                channels=(
                    {ch: channels.get(f"{target}:{ch}", 0) for ch in CHANNELS}
                    if target != SlaClock.Target.RESOLUTION
                    else {}
                ),
            )
        )

    days = _each_day(f.start, f.end + timedelta(days=1))
    trend_by_day = {d: (n, median, p90, t) for d, n, median, p90, t in trend}
    points = []
    for day in days:
        n, median, p90, t = trend_by_day.get(day, (0, None, None, 0.0))
        total_s = float(t or 0.0)
        fr = per_day.get((day, "outcome"), {})
        open_ = sum(
            fr.get(f"first_response:{k}", 0)
            for k in ("breached_open", "active", "paused")
        )
        points.append(
            TrendPoint(
                at=datetime.combine(day, time.min, tzinfo=UTC),
                durations=Durations(
                    count=int(n),
                    median=median,
                    p90=p90,
                    mean=total_s / n if n else None,
                ),
                open=open_,
            )
        )
    volume_points = []
    for day in days:
        slot = per_day.get((day, "kind"), {})
        posts, dms = slot.get("post", 0), slot.get("dm", 0)
        volume_points.append(
            VolumePoint(
                at=datetime.combine(day, time.min, tzinfo=UTC),
                total=posts + dms,
                posts=posts,
                dms=dms,
            )
        )
    by_kind = dict.fromkeys(Mention.Kind.values, 0) | total["kind"]
    by_sentiment = (
        dict.fromkeys(["negative", "neutral", "positive", "unscored"], 0)
        | total["sentiment"]
    )
    by_status = dict.fromkeys(Mention.Status.values, 0) | total["status"]

    stream_counts = {int(k): n for k, n in total["stream"].items()}
    names = dict(Stream.objects.filter(id__in=stream_counts).values_list("id", "name"))
    streams = sorted(
        (
            CountRow(key=sid, label=names.get(sid, f"#{sid}"), count=n)
            for sid, n in stream_counts.items()
        ),
        key=lambda r: (-r.count, r.label),
    )

    def heat(measure: str) -> Heatmap:
        return Heatmap({divmod(int(k), 24): n for k, n in total[measure].items()})

    agents = _people(people, hist, "agent")
    teams = _people(people, hist, "team")
    return Dashboard(
        targets=targets,
        trend=points,
        volume=Volume(
            points=volume_points,
            by_kind=by_kind,
            by_sentiment=by_sentiment,
            by_status=by_status,
        ),
        streams=streams,
        customers_heatmap=heat("heat_in"),
        answers_heatmap=heat("heat_out"),
        detection_lag=_durations(hist[("lag", "all", None)]),
        backlog=backlog,
        agents=agents,
        teams=teams,
    )


def _people(
    people: dict[tuple[str, int | None], dict[str, int]],
    hist: dict[tuple[str, str, int | None], list[tuple[int, int, float]]],
    by: Literal["agent", "team"],
) -> list[PeopleRow]:
    """The per-agent or per-team rows, named and sorted like the live tables (people.py)."""
    keys = [key for (grp, key), f in people.items() if grp == by and f.get("handled:")]
    names, nobody = people_names([k for k in keys if k is not None], by)
    rows = []
    for key in keys:
        figures = people[(by, key)]
        rows.append(
            PeopleRow(
                key=key,
                label=label_of(key, names, nobody),
                handled=figures["handled:"],
                first_response=_durations(hist.get(("first_response", by, key), [])),
                on_time=figures.get("fr_outcome:on_time", 0),
                late=figures.get("fr_outcome:late", 0),
                breached_open=figures.get("fr_outcome:breached_open", 0),
                active=figures.get("fr_outcome:active", 0),
                resolution=_durations(hist.get(("resolution", by, key), [])),
            )
        )
    return sort_people(rows)


def dashboard(
    f: DashboardFilters, *, now: datetime, only_agent: int | None = None
) -> Dashboard:
    """The page's figures: from the rollup when it covers `f`, else live from the base tables."""
    if only_agent is None and covers(f):
        with transaction.atomic():
            if sql.is_postgres():
                # A long range's bins are summed in one hash table: keep it in memory; these short
                # aggregates do not pay for JIT compilation.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL work_mem = '64MB'")
                    cursor.execute("SET LOCAL jit = off")
            return read_dashboard(f, now=now)
    return build_dashboard(f, now=now, only_agent=only_agent)
