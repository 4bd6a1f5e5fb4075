"""Value objects the dashboard queries return: already aggregated, small, ready to render or export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def duration_text(seconds: float | None) -> str:
    """Seconds as `45s`, `12m 05s`, `3h 04m`, `2d 05h`; an em dash when there is no value."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def share(part: int, whole: int) -> float | None:
    """Percentage with one decimal, None when there is nothing to divide."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Durations:
    """Median, p90 and mean over `count` values (seconds); `open` items are not in them."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None
    # Median and p90 read from the rollup's bins: within 1 s below 30 s, within 5 % above (bins.py).
    approximate: bool = False

    @property
    def median_text(self) -> str:
        return self._approx(duration_text(self.median))

    @property
    def p90_text(self) -> str:
        return self._approx(duration_text(self.p90))

    def _approx(self, text: str) -> str:
        return f"≈ {text}" if self.approximate and text != "—" else text

    @property
    def mean_text(self) -> str:
        return duration_text(self.mean)


@dataclass(frozen=True)
class TargetSummary:
    """One SLA target's clocks that started in the range, by outcome."""

    target: str
    label: str
    on_time: int
    late: int
    breached_open: int
    active: int
    paused: int  # included in `active`: waiting on the customer, not breached
    cancelled: (
        int  # monitoring or spam: no answer was needed; excluded from every share
    )
    durations: Durations
    channels: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.breached_open + self.active

    @property
    def open(self) -> int:
        return self.breached_open + self.active

    @property
    def decided(self) -> int:
        return self.on_time + self.late + self.breached_open

    @property
    def compliance(self) -> float | None:
        """Met on time / (met on time + met late + breached and open): active clocks are undecided."""
        return share(self.on_time, self.decided)

    def pct(self, count: int) -> float | None:
        return share(count, self.total)

    @property
    def on_time_pct(self) -> float | None:
        return self.pct(self.on_time)

    @property
    def late_pct(self) -> float | None:
        return self.pct(self.late)

    @property
    def breached_open_pct(self) -> float | None:
        return self.pct(self.breached_open)

    @property
    def active_pct(self) -> float | None:
        return self.pct(self.active)


@dataclass(frozen=True)
class TrendPoint:
    at: datetime
    durations: Durations
    open: int


@dataclass(frozen=True)
class VolumePoint:
    at: datetime
    total: int
    posts: int
    dms: int


@dataclass(frozen=True)
class Volume:
    points: list[VolumePoint]
    by_kind: dict[str, int]
    by_sentiment: dict[str, int]
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


@dataclass(frozen=True)
class CountRow:
    key: int | str | None
    label: str
    count: int


@dataclass(frozen=True)
class BacklogPoint:
    at: datetime  # the end of the bucket: open mentions at that instant
    open: int


@dataclass(frozen=True)
class Backlog:
    open_now: int
    by_status: dict[str, int]
    oldest_created_at: datetime | None
    oldest_age_seconds: float | None
    points: list[BacklogPoint]

    @property
    def oldest_age_text(self) -> str:
        return duration_text(self.oldest_age_seconds)


@dataclass(frozen=True)
class PeopleRow:
    """One agent's (or team's) figures over the mentions attributed to them."""

    key: int | None
    label: str
    handled: int
    first_response: Durations
    on_time: int
    late: int
    breached_open: int
    active: int
    resolution: Durations

    @property
    def compliance(self) -> float | None:
        return share(self.on_time, self.on_time + self.late + self.breached_open)


@dataclass(frozen=True)
class Heatmap:
    """Counts per (weekday Monday=0, hour) in UTC."""

    cells: dict[tuple[int, int], int]

    def rows(self) -> list[tuple[str, list[int]]]:
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return [
            (names[d], [self.cells.get((d, h), 0) for h in range(24)]) for d in range(7)
        ]

    @property
    def peak(self) -> int:
        return max(self.cells.values(), default=0)

    def graded_rows(self) -> list[tuple[str, list[tuple[int, int]]]]:
        """Rows of (count, shade 0-5 relative to the busiest hour) for the page; counts stay printed."""
        peak = self.peak
        return [
            (name, [(n, 0 if not n else 1 + (4 * n) // peak) for n in counts])
            for name, counts in self.rows()
        ]


@dataclass(frozen=True)
class Dashboard:
    targets: list[TargetSummary]
    trend: list[TrendPoint]
    volume: Volume
    streams: list[CountRow]
    customers_heatmap: Heatmap
    answers_heatmap: Heatmap
    detection_lag: Durations
    backlog: Backlog
    agents: list[PeopleRow]
    teams: list[PeopleRow]

    def target(self, name: str) -> TargetSummary:
        return next(t for t in self.targets if t.target == name)

    @property
    def channels(self) -> dict[str, int]:
        """Answers (stopped first and next response clocks) by channel."""
        totals: dict[str, int] = {}
        for t in self.targets:
            for channel, count in t.channels.items():
                totals[channel] = totals.get(channel, 0) + count
        return totals

    @property
    def answered(self) -> int:
        """Mentions whose response clock (first, or next for a follow-up in a thread) stopped."""
        return sum(t.on_time + t.late for t in self.targets if t.target != "resolution")

    @property
    def needed_answer(self) -> int:
        """Mentions with a response clock that was not cancelled (monitoring, spam)."""
        return sum(t.total for t in self.targets if t.target != "resolution")

    @property
    def answered_share(self) -> float | None:
        return share(self.answered, self.needed_answer)

    @property
    def monitoring_share(self) -> float | None:
        return share(self.volume.by_status.get("monitoring", 0), self.volume.total)
