"""The dashboard's daily rollup: pre-aggregated figures per UTC day (docs/dashboard.md, "Rollup").

Rows are derived data: `manage.py rollupdashboard` can drop and rebuild any range from the mentions and
their SLA clocks at any time, and nothing else reads them.
"""

from __future__ import annotations

from django.db import models


class RollupCount(models.Model):
    """A count (and for some measures a sum) of one day's mentions or clocks.

    `grp` is `all` for the page's overall figures, `agent` or `team` for the people tables (`key` is the
    user or team id, None for "unassigned" / "no team"). `bucket` says what was counted within the
    measure (a kind, a status, `first_response:on_time`, an hour of the week, a stop date ...).
    """

    day = models.DateField()
    measure = models.CharField(max_length=24)
    grp = models.CharField(max_length=8)
    key = models.BigIntegerField(null=True)
    bucket = models.CharField(max_length=40)
    n = models.BigIntegerField()

    class Meta:
        indexes = [
            # The page reads a range of days per measure; a rebuild deletes whole days.
            models.Index(fields=["measure", "day"], name="dashboard_count_measure_day"),
            models.Index(fields=["day"], name="dashboard_count_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.grp}:{self.key} {self.bucket}={self.n}"


class RollupHistogram(models.Model):
    """Durations of one day in one log-scale bin (mentions/dashboard/bins.py): count and exact sum."""

    day = models.DateField()
    measure = models.CharField(max_length=24)
    grp = models.CharField(max_length=8)
    key = models.BigIntegerField(null=True)
    bin = models.IntegerField()
    n = models.BigIntegerField()
    total = models.FloatField()

    class Meta:
        indexes = [
            # The page reads a range of days for one set of measures (calendar or business time),
            # index-only: the bins of a 90-day page are some 10^5 rows.
            models.Index(
                fields=["measure", "day"],
                include=["grp", "key", "bin", "n", "total"],
                name="dashboard_hist_measure_day",
            ),
            models.Index(fields=["day"], name="dashboard_hist_day"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.day} {self.measure} {self.grp}:{self.key} bin {self.bin}={self.n}"
        )


class RollupDay(models.Model):
    """A UTC day whose rows are in the rollup, and when they were computed."""

    day = models.DateField(primary_key=True)
    built_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} built at {self.built_at}"


class RollupState(models.Model):
    """One row: the time up to which changes to mentions and clocks have been folded in."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    changes_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"changes seen until {self.changes_seen_at}"


class RollupTrend(models.Model):
    """One day's first-response figures for the daily trend, exact (percentile_cont over that day)."""

    day = models.DateField()
    measure = models.CharField(
        max_length=24
    )  # first_response:cal or first_response:bus
    n = models.BigIntegerField()
    median = models.FloatField(null=True)
    p90 = models.FloatField(null=True)
    total = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "measure"], name="dashboard_trend_day_measure"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} median {self.median}"


class RollupWeekHistogram(models.Model):
    """The sum of RollupHistogram over one ISO week (Monday `week`): a long range reads 7x fewer rows.

    Rebuilt with any day of its week, in the same transaction; the page reads it only for weeks whose
    seven days are all built and none is computed live.
    """

    week = models.DateField()
    measure = models.CharField(max_length=24)
    grp = models.CharField(max_length=8)
    key = models.BigIntegerField(null=True)
    bin = models.IntegerField()
    n = models.BigIntegerField()
    total = models.FloatField()

    class Meta:
        indexes = [
            models.Index(
                fields=["measure", "week"],
                include=["grp", "key", "bin", "n", "total"],
                name="dashboard_week_measure_week",
            ),
            models.Index(fields=["week"], name="dashboard_week_week"),
        ]

    def __str__(self) -> str:
        return f"week {self.week} {self.measure} {self.grp}:{self.key} bin {self.bin}={self.n}"
