"""SQL fragments that differ between PostgreSQL and the embedded SQLite default.

PostgreSQL does all the work: `percentile_cont(p) WITHIN GROUP (ORDER BY v)` (linear interpolation
between the two nearest ranks), `date_trunc` buckets and `EXTRACT(EPOCH ...)` differences.

SQLite has no ordered-set aggregates, so on SQLite only `percentile_cont` is a user-defined aggregate
registered on the connection (`pctls(v, '0.5,0.9')`, written in Python with the same linear interpolation); it
runs inside the same GROUP BY queries, so the figures and their grouping stay in SQL on both backends.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection

from mentions.dashboard.bins import bin_of


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def percentile_cont(values: list[float], p: float) -> float | None:
    """PostgreSQL's percentile_cont: the value at rank p*(n-1), interpolated linearly."""
    if not values:
        return None
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo])


class _SqlitePercentiles:
    """`pctls(value, '0.5,0.9')` for SQLite: the group's percentiles as a JSON list (None when empty)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fractions = ""

    def step(self, value: float | None, fractions: str) -> None:
        self.fractions = fractions
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> str | None:
        if not self.values:
            return None
        return json.dumps(
            [percentile_cont(self.values, float(p)) for p in self.fractions.split(",")]
        )


def prepare_connection() -> None:
    """Register the SQLite percentile aggregate on the current connection (a no-op on PostgreSQL)."""
    if is_postgres():
        return
    connection.ensure_connection()
    raw: Any = connection.connection
    raw.create_aggregate("pctls", 2, _SqlitePercentiles)
    raw.create_function("dash_bin", 1, _sqlite_bin, deterministic=True)


def _sqlite_bin(value: float | None) -> int | None:
    """`bins.bin_of` for SQLite's `dash_bin(value)` (the rollup's duration bins)."""
    return None if value is None else bin_of(float(value))


def percentiles(
    value: str, fractions: tuple[float, ...], condition: str | None = None
) -> str:
    """The percentiles of `value` over the group rows that meet `condition`, as one column.

    PostgreSQL: an array from one sort (`percentile_cont(ARRAY[...])`); SQLite: a JSON list.
    `read_percentiles` turns either into floats.
    """
    filt = f" FILTER (WHERE {condition})" if condition else ""
    if is_postgres():
        listed = ", ".join(str(p) for p in fractions)
        return f"percentile_cont(ARRAY[{listed}]) WITHIN GROUP (ORDER BY {value}){filt}"
    return f"pctls({value}, '{','.join(str(p) for p in fractions)}'){filt}"


def read_percentiles(value: Any, count: int) -> list[float | None]:
    if value is None:
        return [None] * count
    values = json.loads(value) if isinstance(value, str) else value
    return [float(v) if v is not None else None for v in values]


def seconds_between(later: str, earlier: str) -> str:
    if is_postgres():
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    # julianday is a double: round away its sub-millisecond noise.
    return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


def bucket(column: str, hourly: bool) -> str:
    """The UTC day (or hour) a timestamp falls in."""
    if is_postgres():
        return f"date_trunc('{'hour' if hourly else 'day'}', {column})"
    return f"strftime('{'%Y-%m-%d %H:00:00' if hourly else '%Y-%m-%d 00:00:00'}', {column})"


def weekday(column: str) -> str:
    """Monday = 0 ... Sunday = 6, in UTC."""
    if is_postgres():
        return f"(EXTRACT(ISODOW FROM {column})::int - 1)"
    return f"((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7)"


def hour(column: str) -> str:
    if is_postgres():
        return f"EXTRACT(HOUR FROM {column})::int"
    return f"CAST(strftime('%H', {column}) AS INTEGER)"


def as_datetime(value: Any) -> datetime:
    """A bucket value (aware datetime from Postgres, text from SQLite) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def grouping_sets(
    inner: str, params: list[Any], columns: list[str], sets: list[tuple[str, ...]]
) -> list[tuple[Any, ...]]:
    """Row counts of `inner` (a SELECT naming `columns`) grouped by each of `sets`, in one scan.

    Returns (set index, *columns (None outside the set), count). PostgreSQL hashes every set in one pass
    (GROUPING SETS); SQLite, which lacks them, runs one GROUP BY per set over the same CTE.
    """
    cols = ", ".join(columns)
    if is_postgres():
        # GROUPING() sets bit (n-1-i) for column i when the row's set does not group by it.
        masks = {
            sum(
                1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in s
            ): n
            for n, s in enumerate(sets)
        }
        groups = ", ".join(f"({', '.join(s)})" for s in sets)
        rows = run(
            f"SELECT GROUPING({cols}), {cols}, COUNT(*) FROM ({inner}) AS x"  # noqa: S608 (constant fragments; values are parameters)
            f" GROUP BY GROUPING SETS ({groups})",
            params,
        )
        return [(masks[r[0]], *r[1:]) for r in rows]
    branches = []
    for n, s in enumerate(sets):
        picked = ", ".join(c if c in s else "NULL" for c in columns)
        branches.append(
            f"SELECT {n}, {picked}, COUNT(*) FROM x GROUP BY {', '.join(s)}"  # noqa: S608 (constant fragments; values are parameters)
        )
    return run(f"WITH x AS ({inner}) {' UNION ALL '.join(branches)}", params)


def run(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run one aggregate query and return its (small, already grouped) result."""
    prepare_connection()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
