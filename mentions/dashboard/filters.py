"""The dashboard's range and filters: one value object, its SQL conditions and its queue links."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.urls import reverse

from mentions.models import Mention, MentionStream
from mentions.sla.models import SlaClock

MENTION = Mention._meta.db_table
CLOCK = SlaClock._meta.db_table
MENTION_STREAM = MentionStream._meta.db_table

# Shorter ranges get an hourly trend; longer ones a daily one.
HOURLY_UP_TO_DAYS = 2


@dataclass(frozen=True)
class DashboardFilters:
    """What the page measures: mentions posted from `start` to `end` (both inclusive, UTC days)."""

    start: date
    end: date
    account: int | None = None
    stream: int | None = None
    team: int | None = None
    agent: int | None = None
    kind: str | None = None
    priority: int | None = None
    business: bool = False

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive end: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hourly(self) -> bool:
        return self.days <= HOURLY_UP_TO_DAYS

    @property
    def has_mention_filters(self) -> bool:
        return any(
            v is not None
            for v in (
                self.account,
                self.stream,
                self.team,
                self.agent,
                self.kind,
                self.priority,
            )
        )

    def with_agent(self, agent: int | None) -> DashboardFilters:
        return replace(self, agent=agent)

    def query_params(self) -> dict[str, str]:
        """The dashboard URL's parameters (for links that keep the filters, e.g. CSV exports)."""
        params: dict[str, str] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
        }
        for name in ("account", "stream", "team", "agent", "kind", "priority"):
            value = getattr(self, name)
            if value is not None:
                params[name] = str(value)
        if self.business:
            params["time"] = "business"
        return params


def db_datetime(value: datetime) -> Any:
    """A datetime as the backend stores it (SQLite compares naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def mention_conditions(f: DashboardFilters, alias: str = "m") -> tuple[str, list[Any]]:
    """SQL conditions (joined with AND, never empty) on a mention row for every set filter but the range.

    An agent's mentions are those assigned to them or with a clock they stopped (they answered it).
    """
    parts = ["1 = 1"]
    params: list[Any] = []
    for column, value in (
        ("account_id", f.account),
        ("team_id", f.team),
        ("kind", f.kind),
        ("priority", f.priority),
    ):
        if value is not None:
            parts.append(f"{alias}.{column} = %s")
            params.append(value)
    if f.stream is not None:
        parts.append(
            f"EXISTS (SELECT 1 FROM {MENTION_STREAM} ms WHERE ms.mention_id = {alias}.id"  # noqa: S608 (constant fragments; values are parameters)
            " AND ms.stream_id = %s)"
        )
        params.append(f.stream)
    if f.agent is not None:
        parts.append(
            f"({alias}.assignee_id = %s OR EXISTS (SELECT 1 FROM {CLOCK} sc"  # noqa: S608 (constant fragments; values are parameters)
            f" WHERE sc.mention_id = {alias}.id AND sc.stopped_by_id = %s))"
        )
        params += [f.agent, f.agent]
    return " AND ".join(parts), params


def mention_range(f: DashboardFilters, alias: str = "m") -> tuple[str, list[Any]]:
    """The range and every filter, on mention rows."""
    where, params = mention_conditions(f, alias)
    return (
        f"{alias}.created_at >= %s AND {alias}.created_at < %s AND {where}",
        [db_datetime(f.start_at), db_datetime(f.end_at), *params],
    )


def clock_source(f: DashboardFilters) -> tuple[str, str, list[Any]]:
    """FROM and WHERE for clocks that started in the range (alias c), joined to mentions only if filtered.

    First-response and resolution clocks start at the post's created_at, so "started in the range" is
    "posted in the range"; a next-response clock starts at the customer's follow-up. Selecting on the
    clock's own start lets the unfiltered page read the clock table alone.
    """
    # Naming every target lets PostgreSQL walk the (target, started_at) report index once per target.
    where = (
        "c.target IN ('first_response', 'next_response', 'resolution')"
        " AND c.started_at >= %s AND c.started_at < %s"
    )
    params: list[Any] = [db_datetime(f.start_at), db_datetime(f.end_at)]
    source = f"{CLOCK} c"
    if f.has_mention_filters:
        source += f" JOIN {MENTION} m ON m.id = c.mention_id"
        conditions, more = mention_conditions(f, "m")
        where += f" AND {conditions}"
        params += more
    return source, where, params


def queue_url(f: DashboardFilters, **extra: str | int | list[str] | None) -> str:
    """The queue (contracts §8) showing the mentions behind a figure: the range, the filters, `extra`.

    `from`/`to` in `extra` narrow the range (e.g. to one day of a trend); None drops a parameter; a list
    repeats it (the queue reads repeated parameters as OR).
    """
    params: dict[str, str | list[str]] = {
        "from": f.start.isoformat(),
        "to": f.end.isoformat(),
        "view": "all",
    }
    for name in ("account", "stream", "team", "kind", "priority"):
        value = getattr(f, name)
        if value is not None:
            params[name] = str(value)
    if f.agent is not None:
        params["assignee"] = str(f.agent)
    for key, value in extra.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value if isinstance(value, list) else str(value)
    return f"{reverse('mentions:queue')}?{urlencode(params, doseq=True)}"
