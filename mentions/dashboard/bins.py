"""Log-scale bins for durations, and percentiles read back from binned counts.

Why bins: a 90-day page would otherwise sort every answered clock of the range (500,000 values and more
on the benchmark: about 250 ms per figure in PostgreSQL). Counts per bin add up across days, so a range
reads a few hundred rows per figure instead.

The layout: values below `EXACT` seconds get one bin per second; above, each bin is `RATIO` times wider
than the one before (5 %). A percentile is interpolated inside the bin that holds its rank, so it is off
from PostgreSQL's exact `percentile_cont` by less than one bin: under 1 second below 30 s, under 5 %
above (docs/dashboard.md "Rollup" gives the measured error). Counts and means stay exact (each bin keeps
the exact sum of its values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EXACT = 30
RATIO = 1.05
_LOG_RATIO = math.log(RATIO)


def bin_of(value: float) -> int:
    """The bin of a duration in seconds (negative values, e.g. clock skew, get 1-second bins)."""
    if value < EXACT:
        return math.floor(value)
    return EXACT + math.floor(math.log(value / EXACT) / _LOG_RATIO)


def bin_sql(value: str, postgres: bool) -> str:
    """`bin_of` in SQL; SQLite calls the Python function registered as `dash_bin`."""
    if not postgres:
        return f"dash_bin({value})"
    return (
        f"(CASE WHEN ({value}) < {EXACT} THEN floor({value})::int"
        f" ELSE {EXACT} + floor(ln(({value}) / {EXACT}.0) / ln({RATIO}))::int END)"
    )


def bounds(b: int) -> tuple[float, float]:
    """[low, high) seconds of a bin."""
    if b < EXACT:
        return float(b), float(b + 1)
    return EXACT * RATIO ** (b - EXACT), EXACT * RATIO ** (b - EXACT + 1)


def value_at_rank(histogram: Sequence[tuple[int, int]], rank: int) -> float:
    """The value of 0-based `rank` in the sorted values, estimated inside its bin.

    `histogram` is (bin, count) sorted by bin. The bin's values are taken as evenly spread, each at
    the middle of its share of the bin; a 1-second bin below EXACT holds integers, so its low edge is
    the exact value whenever durations are whole seconds (the SLA clocks store them so).
    """
    seen = 0
    for b, count in histogram:
        if rank < seen + count:
            low, high = bounds(b)
            if b < EXACT:
                return low
            return low + (high - low) * (rank - seen + 0.5) / count
        seen += count
    raise ValueError(f"rank {rank} is beyond {seen} values")


def percentile(histogram: Sequence[tuple[int, int]], p: float) -> float | None:
    """percentile_cont(p) over the binned values: the two nearest ranks, interpolated linearly."""
    n = sum(count for _, count in histogram)
    if n == 0:
        return None
    pos = p * (n - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    low = value_at_rank(histogram, lo)
    if hi == lo:
        return low
    return low + (pos - lo) * (value_at_rank(histogram, hi) - low)
