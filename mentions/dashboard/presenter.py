"""Turn a Dashboard into the page's tables (with queue links) and the charts' JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mentions.dashboard.figures import Dashboard, duration_text, share
from mentions.dashboard.filters import DashboardFilters, queue_url

# Queue `sla` values (contracts §8) for each outcome column.
OUTCOMES = [
    ("on_time", "Met on time", "met"),
    ("late", "Met late (breached)", "met_late"),
    ("breached_open", "Breached, still open", "breached"),
    ("active", "Active (running)", "active"),
]
CHANNEL_LABELS = {
    "reply": "Public reply",
    "dm": "DM",
    "email": "Email",
    "phone": "Phone",
}
SENTIMENT_LABELS = {
    "negative": "Negative (≤ -0.05)",
    "neutral": "Neutral",
    "positive": "Positive (≥ 0.05)",
    "unscored": "Not scored",
}


@dataclass(frozen=True)
class Row:
    """A table row: its cells (already text) and the queue link to the mentions behind it."""

    cells: list[Any]
    link: str


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60.0, 2) if seconds is not None else None


def _label(at: datetime, hourly: bool) -> str:
    return at.strftime("%Y-%m-%d %H:00") if hourly else at.date().isoformat()


def _day_link(f: DashboardFilters, at: datetime, **extra: str | list[str]) -> str:
    day = at.date().isoformat()
    return queue_url(f, **{"from": day, "to": day}, **extra)


def present(d: Dashboard, f: DashboardFilters) -> dict[str, Any]:
    """The template context for the figures (tables) and the `charts` JSON."""
    hourly = f.hourly
    targets = [
        Row(
            cells=[
                t,
                [
                    (getattr(t, key), getattr(t, f"{key}_pct"), queue_url(f, sla=sla))
                    for key, _, sla in OUTCOMES
                ],
            ],
            link=queue_url(f),
        )
        for t in d.targets
    ]
    trend = [
        Row(cells=[_label(p.at, hourly), p.durations, p.open], link=_day_link(f, p.at))
        for p in d.trend
    ]
    volume = [
        Row(
            cells=[_label(p.at, hourly), p.total, p.posts, p.dms],
            link=_day_link(f, p.at),
        )
        for p in d.volume.points
    ]
    kinds = [
        Row(cells=[label, d.volume.by_kind.get(kind, 0)], link=queue_url(f, kind=kind))
        for kind, label in (("post", "Posts"), ("dm", "DMs"))
    ]
    sentiments = [
        Row(
            cells=[label, count],
            link=queue_url(f, sentiment=key) if key != "unscored" else queue_url(f),
        )
        for key, label in SENTIMENT_LABELS.items()
        for count in [d.volume.by_sentiment.get(key, 0)]
    ]
    statuses = [
        Row(cells=[status, count], link=queue_url(f, status=status))
        for status, count in d.volume.by_status.items()
    ]
    streams = [
        Row(cells=[s.label, s.count], link=queue_url(f, stream=str(s.key)))
        for s in d.streams
    ]
    channels_total = sum(d.channels.values())
    channels = [
        Row(cells=[CHANNEL_LABELS[ch], n, share(n, channels_total)], link=queue_url(f))
        for ch, n in d.channels.items()
    ]
    open_statuses = ["new", "open", "waiting"]
    backlog = [
        Row(
            cells=[
                _label(
                    p.at - (timedelta(hours=1) if hourly else timedelta(days=1)), hourly
                ),
                p.open,
            ],
            link=queue_url(
                f,
                status=open_statuses,
                **{
                    "from": None,
                    "to": (p.at - timedelta(seconds=1)).date().isoformat(),
                },
            ),
        )
        for p in d.backlog.points
    ]
    agents = [
        Row(cells=[p], link=queue_url(f, assignee=str(p.key) if p.key else "none"))
        for p in d.agents
    ]
    teams = [
        Row(cells=[p], link=queue_url(f, team=str(p.key)) if p.key else queue_url(f))
        for p in d.teams
    ]

    charts = {
        "trend": {
            "labels": [_label(p.at, hourly) for p in d.trend],
            "median": [_minutes(p.durations.median) for p in d.trend],
            "p90": [_minutes(p.durations.p90) for p in d.trend],
            "mean": [_minutes(p.durations.mean) for p in d.trend],
            "links": [r.link for r in trend],
        },
        "compliance": {
            "labels": [t.label for t in d.targets],
            "series": [
                {
                    "label": label,
                    "data": [getattr(t, f"{key}_pct") or 0 for t in d.targets],
                    "counts": [getattr(t, key) for t in d.targets],
                }
                for key, label, _ in OUTCOMES
            ],
            "links": [
                [queue_url(f, sla=sla) for _ in d.targets] for _, _, sla in OUTCOMES
            ],
        },
        "volume": {
            "labels": [r.cells[0] for r in volume],
            "posts": [p.posts for p in d.volume.points],
            "dms": [p.dms for p in d.volume.points],
            "links": [r.link for r in volume],
        },
        "backlog": {
            "labels": [r.cells[0] for r in backlog],
            "open": [p.open for p in d.backlog.points],
            "links": [r.link for r in backlog],
        },
        "channels": {
            "labels": [CHANNEL_LABELS[ch] for ch in d.channels],
            "data": list(d.channels.values()),
            "links": [r.link for r in channels],
        },
        "sentiment": {
            "labels": list(SENTIMENT_LABELS.values()),
            "data": [r.cells[1] for r in sentiments],
            "links": [r.link for r in sentiments],
        },
    }
    return {
        "targets": targets,
        "outcomes": OUTCOMES,
        "trend_rows": trend,
        "volume_rows": volume,
        "kind_rows": kinds,
        "sentiment_rows": sentiments,
        "status_rows": statuses,
        "stream_rows": streams,
        "channel_rows": channels,
        "backlog_rows": backlog,
        "agent_rows": agents,
        "team_rows": teams,
        "charts": charts,
        "range_link": queue_url(f),
        "monitoring_link": queue_url(f, view="monitoring"),
        "open_link": queue_url(f, status=open_statuses, **{"from": None, "to": None}),
        "oldest_text": duration_text(d.backlog.oldest_age_seconds),
    }
