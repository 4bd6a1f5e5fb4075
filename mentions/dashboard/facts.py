"""The rollup's rows computed from the base tables, for any set of UTC days.

One function writes the SQL that both the rollup's build (INSERT ... SELECT) and the page's live days
(today, days not built yet, days changed since the last refresh) read, so the two can never disagree
on a definition. Every sub-select keys its rows by the day the fact belongs to:
- mention facts (volume, status, sentiment, streams, customers' heatmap, detection lag, the people
  tables) by the day the mention was posted;
- clock facts (SLA outcomes, durations, channels, answers' heatmap, backlog) by the day the clock
  started, including the backlog's stops (bucket = the stop date), so that any change to a clock
  touches only its start day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from mentions.dashboard import bins, sql
from mentions.dashboard.filters import (
    CLOCK,
    MENTION,
    MENTION_STREAM,
    DashboardFilters,
    db_datetime,
)
from mentions.dashboard.measures import clock_seconds
from mentions.dashboard.people import _outcomes
from mentions.dashboard.queries import (
    ACTIVE,
    BREACHED_OPEN,
    CANCELLED,
    LATE,
    ON_TIME,
    PAUSED,
    SENTIMENT,
    STOPPED,
)

Ranges = list[tuple[date, date]]  # [first day, day after the last)

CALENDAR = DashboardFilters(start=date(2000, 1, 1), end=date(2000, 1, 1))
BUSINESS = DashboardFilters(start=date(2000, 1, 1), end=date(2000, 1, 1), business=True)
TIMES = (("cal", CALENDAR), ("bus", BUSINESS))

OUTCOME = (
    f"CASE WHEN {ON_TIME} THEN 'on_time' WHEN {LATE} THEN 'late'"
    f" WHEN {BREACHED_OPEN} THEN 'breached_open' WHEN {PAUSED} THEN 'paused'"
    f" WHEN {ACTIVE} THEN 'active' WHEN {CANCELLED} THEN 'cancelled' ELSE 'other' END"
)


def day_of(column: str) -> str:
    """The UTC date of a timestamp (a date on PostgreSQL, ISO text on SQLite)."""
    if sql.is_postgres():
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def text(expr: str) -> str:
    return f"CAST({expr} AS TEXT)"


def days_to_ranges(days: set[date]) -> Ranges:
    """Consecutive days merged into [first, day after last) ranges."""
    out: Ranges = []
    for d in sorted(days):
        if out and out[-1][1] == d:
            out[-1] = (out[-1][0], d + timedelta(days=1))
        else:
            out.append((d, d + timedelta(days=1)))
    return out


def _within(column: str, ranges: Ranges) -> tuple[str, list[Any]]:
    parts, params = [], []
    for first, after in ranges:
        parts.append(f"({column} >= %s AND {column} < %s)")
        params += [
            db_datetime(datetime.combine(first, time.min, tzinfo=UTC)),
            db_datetime(datetime.combine(after, time.min, tzinfo=UTC)),
        ]
    return "(" + " OR ".join(parts) + ")", params


def count_rows(ranges: Ranges) -> tuple[str, list[Any]]:
    """SELECT day, measure, grp, key, bucket, n: every count of the rollup for `ranges`."""
    m_in, m_params = _within("m.created_at", ranges)
    c_in, c_params = _within("c.started_at", ranges)
    targets = "c.target IN ('first_response', 'next_response', 'resolution')"
    mday, cday = day_of("m.created_at"), day_of("c.started_at")
    how = f"{sql.weekday('m.created_at')} * 24 + {sql.hour('m.created_at')}"
    answered = f"{sql.weekday('c.stopped_at')} * 24 + {sql.hour('c.stopped_at')}"
    fr = _outcomes("fr")
    fr_outcome = (
        f"CASE WHEN fr.id IS NULL THEN 'none' WHEN {fr['on_time']} THEN 'on_time'"
        f" WHEN {fr['late']} THEN 'late' WHEN {fr['breached_open']} THEN 'breached_open'"
        f" WHEN {fr['active']} THEN 'active' ELSE 'other' END"
    )
    people, p_params = _people_source(ranges)
    selects: list[tuple[str, list[Any]]] = [
        (
            f"SELECT {mday} AS day, 'kind' AS measure, 'all' AS grp, CAST(NULL AS BIGINT) AS key, m.kind AS bucket,"  # noqa: S608 (constant fragments; values are parameters)
            f" COUNT(*) AS n FROM {MENTION} m WHERE {m_in} GROUP BY {mday}, m.kind",
            m_params,
        ),
        (
            f"SELECT {mday}, 'status', 'all', NULL, m.status, COUNT(*) FROM {MENTION} m"  # noqa: S608 (constant fragments; values are parameters)
            f" WHERE {m_in} GROUP BY {mday}, m.status",
            m_params,
        ),
        (
            f"SELECT {mday}, 'sentiment', 'all', NULL, {SENTIMENT}, COUNT(*) FROM {MENTION} m"  # noqa: S608 (constant fragments; values are parameters)
            f" WHERE {m_in} GROUP BY {mday}, {SENTIMENT}",
            m_params,
        ),
        (
            f"SELECT {mday}, 'heat_in', 'all', NULL, {text(how)}, COUNT(*) FROM {MENTION} m"  # noqa: S608 (constant fragments; values are parameters)
            f" WHERE {m_in} GROUP BY {mday}, {how}",
            m_params,
        ),
        (
            f"SELECT {mday}, 'stream', 'all', NULL, {text('ms.stream_id')}, COUNT(*)"  # noqa: S608 (constant fragments; values are parameters)
            f" FROM {MENTION_STREAM} ms JOIN {MENTION} m ON m.id = ms.mention_id"
            f" WHERE {m_in} GROUP BY {mday}, ms.stream_id",
            m_params,
        ),
        (
            f"SELECT {cday}, 'outcome', 'all', NULL, c.target || ':' || {OUTCOME}, COUNT(*)"  # noqa: S608 (constant fragments; values are parameters)
            f" FROM {CLOCK} c WHERE {targets} AND {c_in} GROUP BY {cday}, c.target, {OUTCOME}",
            c_params,
        ),
        (
            f"SELECT {cday}, 'channel', 'all', NULL, c.target || ':' || c.stopped_by_channel,"  # noqa: S608 (constant fragments; values are parameters)
            f" COUNT(*) FROM {CLOCK} c WHERE c.target IN ('first_response', 'next_response')"
            f" AND {STOPPED} AND c.stopped_by_channel <> '' AND {c_in}"
            f" GROUP BY {cday}, c.target, c.stopped_by_channel",
            c_params,
        ),
        (
            f"SELECT {cday}, 'heat_out', 'all', NULL, {text(answered)}, COUNT(*) FROM {CLOCK} c"  # noqa: S608 (constant fragments; values are parameters)
            f" WHERE c.target IN ('first_response', 'next_response') AND {STOPPED} AND {c_in}"
            f" GROUP BY {cday}, {answered}",
            c_params,
        ),
        # The backlog: resolution clocks that entered (all but those cancelled without a stop), and
        # when they stopped; both keyed by the start day (see the module docstring).
        (
            f"SELECT {cday}, 'res_start', 'all', NULL, '', COUNT(*) FROM {CLOCK} c"  # noqa: S608 (constant fragments; values are parameters)
            f" WHERE c.target = 'resolution' AND NOT (c.state = 'cancelled' AND c.stopped_at IS NULL)"
            f" AND {c_in} GROUP BY {cday}",
            c_params,
        ),
        (
            f"SELECT {cday}, 'res_stop', 'all', NULL, {text(day_of('c.stopped_at'))}, COUNT(*)"  # noqa: S608 (constant fragments; values are parameters)
            f" FROM {CLOCK} c WHERE c.target = 'resolution' AND c.stopped_at IS NOT NULL"
            f" AND {c_in} GROUP BY {cday}, {day_of('c.stopped_at')}",
            c_params,
        ),
    ]
    for grp, key in (
        ("agent", "COALESCE(fr.stopped_by_id, m.assignee_id)"),
        ("team", "m.team_id"),
    ):
        selects.append(
            (
                f"SELECT {mday}, 'handled', '{grp}', {key}, '', COUNT(*) {people}"
                f" GROUP BY {mday}, {key}",
                p_params,
            )
        )
        selects.append(
            (
                f"SELECT {mday}, 'fr_outcome', '{grp}', {key}, {fr_outcome}, COUNT(*) {people}"
                f" GROUP BY {mday}, {key}, {fr_outcome}",
                p_params,
            )
        )
    return _union(selects)


def histogram_rows(ranges: Ranges) -> tuple[str, list[Any]]:
    """SELECT day, measure, grp, key, bin, n, total: every duration histogram for `ranges`."""
    pg = sql.is_postgres()
    m_in, m_params = _within("m.created_at", ranges)
    c_in, c_params = _within("c.started_at", ranges)
    mday, cday = day_of("m.created_at"), day_of("c.started_at")
    lag = sql.seconds_between("m.ingested_at", "m.created_at")
    selects: list[tuple[str, list[Any]]] = [
        (
            f"SELECT {mday} AS day, 'lag' AS measure, 'all' AS grp, CAST(NULL AS BIGINT) AS key,"  # noqa: S608 (constant fragments; values are parameters)
            f" {bins.bin_sql(lag, pg)} AS bin, COUNT(*) AS n, SUM({lag}) AS total"
            f" FROM {MENTION} m WHERE {m_in} GROUP BY {mday}, {bins.bin_sql(lag, pg)}",
            m_params,
        )
    ]
    people, p_params = _people_source(ranges)
    for suffix, f in TIMES:
        value = clock_seconds(f, "c")
        b = bins.bin_sql(value, pg)
        selects.append(
            (
                f"SELECT {cday}, c.target || ':{suffix}', 'all', NULL, {b}, COUNT(*), SUM({value})"  # noqa: S608 (constant fragments; values are parameters)
                f" FROM {CLOCK} c WHERE c.target IN ('first_response', 'next_response', 'resolution')"
                f" AND {STOPPED} AND {c_in} GROUP BY {cday}, c.target, {b}",
                c_params,
            )
        )
        for alias, target in (("fr", "first_response"), ("res", "resolution")):
            value = clock_seconds(f, alias)
            b = bins.bin_sql(value, pg)
            stopped = _outcomes(alias)["stopped"]
            for grp, key in (
                ("agent", "COALESCE(fr.stopped_by_id, m.assignee_id)"),
                ("team", "m.team_id"),
            ):
                selects.append(
                    (
                        f"SELECT {mday}, '{target}:{suffix}', '{grp}', {key}, {b}, COUNT(*),"
                        f" SUM({value}) {people} AND {stopped} GROUP BY {mday}, {key}, {b}",
                        p_params,
                    )
                )
    return _union(selects)


def trend_rows(ranges: Ranges) -> tuple[str, list[Any]]:
    """SELECT day, measure, n, median, p90, total: each day's first-response figures, exact."""
    c_in, c_params = _within("c.started_at", ranges)
    cday = day_of("c.started_at")
    selects = []
    for suffix, f in TIMES:
        value = clock_seconds(f, "c")
        selects.append(
            (
                f"SELECT {cday} AS day, 'first_response:{suffix}' AS measure, COUNT(*) AS n,"  # noqa: S608 (constant fragments; values are parameters)
                f" {sql.percentiles(value, (0.5, 0.9))} AS pcts, SUM({value}) AS total"
                f" FROM {CLOCK} c WHERE c.target = 'first_response' AND {STOPPED} AND {c_in}"
                f" GROUP BY {cday}",
                c_params,
            )
        )
    return _union(selects)


def _people_source(ranges: Ranges) -> tuple[str, list[Any]]:
    """FROM/WHERE of the people tables: handled mentions with their cycle-1 clocks (people.py)."""
    m_in, m_params = _within("m.created_at", ranges)
    fr_in, fr_params = _within("fr.started_at", ranges)
    res_in, res_params = _within("res.started_at", ranges)
    return (
        f"FROM {MENTION} m"
        f" LEFT JOIN {CLOCK} fr ON fr.mention_id = m.id AND fr.target = 'first_response'"
        f" AND fr.cycle = 1 AND {fr_in}"
        f" LEFT JOIN {CLOCK} res ON res.mention_id = m.id AND res.target = 'resolution'"
        f" AND res.cycle = 1 AND {res_in}"
        f" WHERE {m_in} AND m.status NOT IN ('monitoring', 'spam')",
        [*fr_params, *res_params, *m_params],
    )


def _union(selects: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    params: list[Any] = []
    for _, p in selects:
        params += p
    return " UNION ALL ".join(s for s, _ in selects), params
