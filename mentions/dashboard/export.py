"""CSV exports: every table of the page, and the mention- or clock-level rows behind the figures.

Row exports stream: a server-side cursor on PostgreSQL (`connection.chunked_cursor()`, the one
`QuerySet.iterator()` uses) read `CHUNK` rows at a time and written through a StreamingHttpResponse,
so memory stays flat however long the range.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from mentions.dashboard import queries, rollup, sql
from mentions.dashboard.figures import (
    Backlog,
    CountRow,
    Dashboard,
    Durations,
    Heatmap,
    PeopleRow,
    TargetSummary,
    TrendPoint,
    Volume,
)
from mentions.dashboard.filters import (
    CLOCK,
    MENTION,
    DashboardFilters,
    clock_source,
    mention_range,
)
from mentions.dashboard.measures import clock_seconds
from mentions.dashboard.people import people_rows
from mentions.sla.models import SlaClock

CHUNK = 2000
Table = tuple[list[str], Iterable[Sequence[Any]]]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer over a generator."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> Any:
    """One CSV cell: UTC ISO datetimes, and text that a spreadsheet would run as a formula defused."""
    if isinstance(value, Decimal):  # PostgreSQL's EXTRACT(EPOCH ...) is numeric
        return float(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(v) for v in row])


def _durations(d: Durations) -> list[Any]:
    return [d.count, d.median, d.p90, d.mean]


def _people(rows: list[PeopleRow], key_name: str) -> Table:
    header = [
        f"{key_name}_id", key_name, "handled",
        "first_response_count", "first_response_median_s", "first_response_p90_s", "first_response_mean_s",
        "first_response_on_time", "first_response_late", "first_response_breached_open",
        "first_response_active", "first_response_compliance_pct",
        "resolution_count", "resolution_median_s", "resolution_p90_s", "resolution_mean_s",
    ]  # fmt: skip
    return header, (
        [
            p.key,
            p.label,
            p.handled,
            *_durations(p.first_response),
            p.on_time,
            p.late,
            p.breached_open,
            p.active,
            p.compliance,
            *_durations(p.resolution),
        ]
        for p in rows
    )


def _targets(targets: list[TargetSummary]) -> Table:
    header = [
        "target", "met_on_time", "met_late", "breached_open", "active", "paused_in_active",
        "cancelled_excluded", "compliance_pct", "stopped_count", "median_s", "p90_s", "mean_s",
        "reply", "dm", "email", "phone",
    ]  # fmt: skip
    return header, (
        [
            t.target,
            t.on_time,
            t.late,
            t.breached_open,
            t.active,
            t.paused,
            t.cancelled,
            t.compliance,
            *_durations(t.durations),
            *[t.channels.get(ch, "") for ch in queries.CHANNELS],
        ]
        for t in targets
    )


def _heatmap(heat: Heatmap) -> Table:
    return ["weekday_utc", *[f"{h:02d}h" for h in range(24)]], (
        [name, *counts] for name, counts in heat.rows()
    )


class _Figures:
    """One figure group at a time: from the rollup's page when it covers `f`, else its live query."""

    def __init__(
        self, f: DashboardFilters, *, now: datetime, only_agent: int | None
    ) -> None:
        self.f, self.now, self.only_agent = f, now, only_agent
        self.d: Dashboard | None = (
            rollup.dashboard(f, now=now)
            if only_agent is None and rollup.covers(f)
            else None
        )

    def targets(self) -> list[TargetSummary]:
        return self.d.targets if self.d else queries.target_summaries(self.f)

    def trend(self) -> list[TrendPoint]:
        return self.d.trend if self.d else queries.first_response_trend(self.f)

    def volume(self) -> Volume:
        return self.d.volume if self.d else queries.volume(self.f)[0]

    def streams(self) -> list[CountRow]:
        return self.d.streams if self.d else queries.by_stream(self.f)

    def customers(self) -> Heatmap:
        return self.d.customers_heatmap if self.d else queries.volume(self.f)[1]

    def answers(self) -> Heatmap:
        return self.d.answers_heatmap if self.d else queries.answers_heatmap(self.f)

    def lag(self) -> Durations:
        return self.d.detection_lag if self.d else queries.detection_lag(self.f)

    def backlog(self) -> Backlog:
        return self.d.backlog if self.d else queries.backlog(self.f, now=self.now)

    def agents(self) -> list[PeopleRow]:
        if self.d:
            return self.d.agents
        return people_rows(self.f, by="agent", only_agent=self.only_agent)

    def teams(self) -> list[PeopleRow]:
        return self.d.teams if self.d else people_rows(self.f, by="team")


def table(
    name: str, f: DashboardFilters, *, now: datetime, only_agent: int | None
) -> Table | None:
    """The header and rows of one of the page's tables, or None for an unknown name.

    Read from the rollup when the page would be (rollup.covers), else computed live.
    """
    src = _Figures(f, now=now, only_agent=only_agent)
    targets, trend, volume, streams = src.targets, src.trend, src.volume, src.streams
    customers, answers, lag, backlog = src.customers, src.answers, src.lag, src.backlog
    agents, teams = src.agents, src.teams
    makers: dict[str, Callable[[], Table]] = {
        "sla": lambda: _targets(targets()),
        "first-response-trend": lambda: (
            ["bucket_start_utc", "answered", "median_s", "p90_s", "mean_s", "still_open"],
            ([p.at, *_durations(p.durations), p.open] for p in trend()),
        ),
        "volume": lambda: (
            ["bucket_start_utc", "mentions", "posts", "dms"],
            ([p.at, p.total, p.posts, p.dms] for p in volume().points),
        ),
        "sentiment": lambda: (["sentiment", "mentions"], ([k, n] for k, n in volume().by_sentiment.items())),
        "status": lambda: (["status", "mentions"], ([k, n] for k, n in volume().by_status.items())),
        "kind": lambda: (["kind", "mentions"], ([k, n] for k, n in volume().by_kind.items())),
        "streams": lambda: (["stream_id", "stream", "mentions"], ([s.key, s.label, s.count] for s in streams())),
        "heatmap-customers": lambda: _heatmap(customers()),
        "heatmap-answers": lambda: _heatmap(answers()),
        "channels": lambda: _channels(targets()),
        "detection-lag": lambda: (["mentions", "median_s", "p90_s", "mean_s"], [_durations(lag())]),
        "backlog": lambda: (["at_utc", "open_mentions"], ([p.at, p.open] for p in backlog().points)),
        "agents": lambda: _people(agents(), "agent"),
        "teams": lambda: _people(teams(), "team"),
    }  # fmt: skip
    if only_agent is not None:
        makers.pop("teams")
    maker = makers.get(name)
    return maker() if maker else None


def _channels(targets: list[TargetSummary]) -> Table:
    totals: dict[str, int] = dict.fromkeys(queries.CHANNELS, 0)
    for t in targets:
        for ch, n in t.channels.items():
            totals[ch] += n
    return ["channel", "answers"], ([ch, n] for ch, n in totals.items())


def _stream_query(query: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    sql.prepare_connection()
    # Inside a transaction PostgreSQL's named cursor needs no WITH HOLD, so rows are produced as they
    # are fetched instead of being materialised on the server at the first commit.
    with transaction.atomic():
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(query, params)
            while rows := cursor.fetchmany(CHUNK):
                yield from rows
        finally:
            cursor.close()


MENTION_HEADER = [
    "mention_id", "x_id", "kind", "status", "priority", "account_id", "team_id", "assignee_id",
    "sentiment", "created_at", "ingested_at", "detection_lag_s",
    "first_response_state", "first_response_late", "first_response_stopped_at",
    "first_response_by_id", "first_response_channel", "first_response_s",
    "resolution_state", "resolution_late", "resolution_stopped_at", "resolution_s",
]  # fmt: skip


def mention_rows(f: DashboardFilters) -> Table:
    """One row per mention posted in the range, with its first-response and resolution clocks."""
    where, params = mention_range(f)
    lag = sql.seconds_between("m.ingested_at", "m.created_at")
    query = (
        f"SELECT m.id, m.x_id, m.kind, m.status, m.priority, m.account_id, m.team_id, m.assignee_id,"  # noqa: S608 (constant fragments; values are parameters)
        f" m.sentiment, m.created_at, m.ingested_at, {lag},"
        f" fr.state, fr.is_late, fr.stopped_at, fr.stopped_by_id, fr.stopped_by_channel,"
        f" CASE WHEN fr.stopped_at IS NOT NULL THEN {clock_seconds(f, 'fr')} END,"
        f" res.state, res.is_late, res.stopped_at,"
        f" CASE WHEN res.stopped_at IS NOT NULL THEN {clock_seconds(f, 'res')} END"
        f" FROM {MENTION} m"
        f" LEFT JOIN {CLOCK} fr ON fr.mention_id = m.id AND fr.target = 'first_response' AND fr.cycle = 1"
        f" LEFT JOIN {CLOCK} res ON res.mention_id = m.id AND res.target = 'resolution' AND res.cycle = 1"
        f" WHERE {where} ORDER BY m.created_at, m.id"
    )
    return MENTION_HEADER, _stream_query(query, params)


CLOCK_HEADER = [
    "clock_id", "mention_id", "target", "cycle", "state", "is_late", "is_business_time",
    "started_at", "due_at", "stopped_at", "duration_s", "stopped_by_id", "channel",
]  # fmt: skip


def clock_rows(f: DashboardFilters, target: str) -> Table | None:
    """The clocks of one target behind the SLA figures (same population as the page)."""
    if target not in SlaClock.Target.values:
        return None
    source, where, params = clock_source(f)
    query = (
        f"SELECT c.id, c.mention_id, c.target, c.cycle, c.state, c.is_late, c.is_business_time,"  # noqa: S608 (constant fragments; values are parameters)
        f" c.started_at, c.due_at, c.stopped_at,"
        f" CASE WHEN c.stopped_at IS NOT NULL THEN {clock_seconds(f)} END,"
        f" c.stopped_by_id, c.stopped_by_channel"
        f" FROM {source} WHERE {where} AND c.target = %s ORDER BY c.started_at, c.id"
    )
    return CLOCK_HEADER, _stream_query(query, [*params, target])
