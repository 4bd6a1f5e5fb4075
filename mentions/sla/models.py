"""Business calendars, SLA policies and the clocks they put on mentions.

See the README's "SLA definitions" for what each clock measures.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class BusinessCalendar(models.Model):
    """When the team works: a time zone, weekly open hours and holidays. 24/7 is a calendar too."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    is_always_open = models.BooleanField(
        default=False, help_text="24/7: every hour counts; open hours are ignored."
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO country code whose public holidays close the calendar (the holidays library).",
    )
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped on every save: ingest caches the policies and calendars until one of them changes.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpenInterval(models.Model):
    """One open interval on a weekday, in the calendar's local time; a day may have several."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday ... 6 = Sunday")
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="sla_openinterval_closes_after_opens",
            ),
            models.CheckConstraint(
                condition=Q(weekday__lte=6), name="sla_openinterval_weekday_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens_at}-{self.closes_at}"


class Holiday(models.Model):
    """A custom closed date on a calendar (on top of its country's public holidays)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"], name="sla_holiday_calendar_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """Targets for the mentions that match its conditions; ordered, first match wins."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Lower is checked first."
    )
    is_default = models.BooleanField(
        default=False, help_text="Applies when no other policy matches."
    )
    is_active = models.BooleanField(default=True)
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="policies"
    )
    # Conditions (all that are set must hold): stream, account, kind, priority, followers, verified,
    # language, tag. Stored as JSON so the admin page can add conditions without a migration.
    conditions = models.JSONField(default=dict, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_response_business = models.BooleanField(default=False)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_business = models.BooleanField(default=False)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_business = models.BooleanField(default=False)
    warning_share = models.PositiveSmallIntegerField(
        default=75,
        help_text="The countdown turns amber at this share (%) of the target.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="sla_slapolicy_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def target_seconds(self, target: str) -> tuple[int, bool] | None:
        """(seconds, is business time) of one target, or None when the policy does not set it."""
        minutes = getattr(self, f"{target}_minutes")
        if minutes is None:
            return None
        return int(minutes) * 60, bool(getattr(self, f"{target}_business"))

    @property
    def target_cells(self) -> list[tuple[int | None, bool]]:
        """(minutes, business) of first response, next response, resolution, for the pages."""
        return [
            (self.first_response_minutes, self.first_response_business),
            (self.next_response_minutes, self.next_response_business),
            (self.resolution_minutes, self.resolution_business),
        ]

    @property
    def has_targets(self) -> bool:
        return any(
            m is not None
            for m in (
                self.first_response_minutes,
                self.next_response_minutes,
                self.resolution_minutes,
            )
        )


class SlaClock(models.Model):
    """One target's clock on one mention (first response, next response #n, resolution).

    `due_at` is the wall-clock due time (business-hours targets already converted through the
    calendar); it is recomputed when a pause ends. A clock that stops after `due_at` is met late
    (`is_late`), which reports count as breached.
    """

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        NEXT_RESPONSE = "next_response", "Next response"
        RESOLUTION = "resolution", "Resolution"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        MET = "met", "Met"
        BREACHED = "breached", "Breached"
        CANCELLED = "cancelled", "Cancelled"  # monitoring or spam: no answer was needed

    # Ingest writes two clocks per mention in its page statement: like the mention's own relations
    # (see mentions.models.Mention.account) these two have no database foreign-key constraint, which
    # PostgreSQL would check row by row at COMMIT. The statement takes both ids from rows it read or
    # wrote; Django runs CASCADE and SET_NULL for ORM deletes; `manage.py checkintegrity` counts orphans.
    mention = models.ForeignKey(
        "mentions.Mention",
        on_delete=models.CASCADE,
        related_name="clocks",
        db_index=False,
        db_constraint=False,
    )  # sla_slaclock_cycle leads with it
    # No index on policy or stopped_by: ingest writes two clocks per mention inside its transaction,
    # and no frequent query looks clocks up by either (deleting a policy or a user, which scans, is rare).
    policy = models.ForeignKey(
        SlaPolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clocks",
        db_index=False,
        db_constraint=False,
    )
    target = models.CharField(max_length=16, choices=Target.choices)
    cycle = models.PositiveSmallIntegerField(
        default=1, help_text="Next-response clocks count up per customer follow-up."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    is_business_time = models.BooleanField(default=False)
    target_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    # When the countdown turns amber (the policy's warning share of the target) and the hover text
    # with the due time in the calendar's zone; both follow due_at.
    warning_at = models.DateTimeField(null=True, blank=True)
    due_hint = models.CharField(max_length=200, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)
    # Open (business) time that passed while paused: business-time due times move by this much.
    paused_business_seconds = models.PositiveIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    # Who and which channel stopped a response clock (reply, dm, email, phone), for the dashboards.
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    stopped_by_channel = models.CharField(max_length=10, blank=True)
    # Filled when the clock stops, so reports aggregate in SQL without redoing calendar math.
    elapsed_seconds = models.PositiveIntegerField(null=True, blank=True)
    elapsed_business_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mention", "target", "cycle"], name="sla_slaclock_cycle"
            )
        ]
        indexes = [
            # The sweep: running clocks by due time.
            models.Index(
                fields=["due_at"],
                name="sla_slaclock_running_due",
                condition=Q(state__in=["active", "breached"], stopped_at__isnull=True),
            ),
            # The dashboard (live days and its daily rollup): a day's clocks of one target, read
            # from the index alone (docs/dashboard.md). Appended at the right edge by ingest.
            models.Index(
                fields=["target", "started_at"],
                name="sla_slaclock_report",
                include=[
                    "state",
                    "is_late",
                    "stopped_at",
                    "paused_seconds",
                    "elapsed_seconds",
                    "elapsed_business_seconds",
                    "stopped_by_channel",
                    "stopped_by",
                    "mention",
                    "cycle",
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target} #{self.cycle} on mention {self.mention_id}"

    @property
    def is_running(self) -> bool:
        return self.stopped_at is None and self.state in (
            self.State.ACTIVE,
            self.State.PAUSED,
            self.State.BREACHED,
        )

    @property
    def display_state(self) -> str:
        """active / paused / met / met late / breached / cancelled, as the workspace shows it."""
        if self.state == self.State.MET and self.is_late:
            return "met late"
        return str(self.get_state_display()).lower()

    @property
    def elapsed_text(self) -> str:
        """How long the clock ran, paused time out ("1h 02m", "12m 05s")."""
        return _duration(self.elapsed_seconds or 0)

    @property
    def elapsed_business_text(self) -> str:
        return _duration(self.elapsed_business_seconds or 0)

    @property
    def state_slug(self) -> str:
        return self.display_state.replace(" ", "-")


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"
