"""Inbound side: brand accounts, the streams we poll, authors, threads and mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from mentions.fields import EncryptedTextField


class Team(models.Model):
    """A group of agents that streams and mentions route to."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class XAccount(models.Model):
    """A connected brand account; replies and DMs are sent as it. Tokens are encrypted at rest."""

    handle = models.CharField(max_length=15, help_text="Username without the @.")
    x_user_id = models.CharField("X user id", max_length=20, unique=True)
    display_name = models.CharField(max_length=100, blank=True)
    # OAuth 2.0 user-context token (tweet.read users.read tweet.write dm.read dm.write offline.access).
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # Optional app-only bearer token: search and mentions then spend the app's rate limit, not the user's.
    app_bearer_token = EncryptedTextField(blank=True)
    scopes = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "X account"
        ordering = ["handle"]

    def __str__(self) -> str:
        return f"@{self.handle}"

    def token_expires_soon(
        self, now: datetime, *, margin: timedelta = timedelta(minutes=2)
    ) -> bool:
        return (
            self.token_expires_at is not None and self.token_expires_at <= now + margin
        )


class Stream(models.Model):
    """Something to poll: a search query, the account's @mentions, or its DMs.

    `since_id` is the committed cursor (for DMs: the newest event id already stored); `checkpoint` holds
    an in-flight poll (xapi/README.md §3.3) so a crash resumes without loss or duplicates.
    """

    class Kind(models.TextChoices):
        SEARCH = "search", "Search"
        MENTIONS = "mentions", "@mentions"
        DMS = "dms", "Direct messages"

    account = models.ForeignKey(
        XAccount, on_delete=models.PROTECT, related_name="streams"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    query = models.TextField(
        blank=True, help_text="Recent-search query (search streams only)."
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="streams"
    )
    enabled = models.BooleanField(default=True)
    poll_interval_seconds = models.PositiveIntegerField(default=60)

    since_id = models.CharField(max_length=20, blank=True)
    checkpoint = models.JSONField(null=True, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now)

    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when X refused permanently; the reason is in last_error.",
    )
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    backfill_completed_at = models.DateTimeField(null=True, blank=True)

    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["account", "kind", "name"]
        indexes = [
            # dispatch_due_streams: enabled, not stopped, next_poll_at <= now
            models.Index(
                fields=["next_poll_at"],
                name="mentions_stream_due",
                condition=Q(enabled=True, stopped_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="search") | ~Q(query=""),
                name="mentions_stream_search_has_query",
            ),
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=~Q(kind="search"),
                name="mentions_stream_one_timeline_per_account",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def state(self) -> str:
        """A one-word status for pages: stopped, disabled, backfilling, rate-limited, retrying or ok."""
        if self.stopped_at:
            return "stopped"
        if not self.enabled:
            return "disabled"
        if self.checkpoint and self.checkpoint.get("backfill"):
            return "backfilling"
        if (
            self.rate_limit_reset_at
            and self.rate_limit_remaining == 0
            and self.rate_limit_reset_at > timezone.now()
        ):
            return "rate-limited"
        if self.consecutive_failures:
            return "retrying"
        return "ok"

    def backfill_progress(self) -> float | None:
        """Share (0..1) of the backfill window already stored, or None when no backfill is running."""
        backfill: dict[str, Any] | None = (self.checkpoint or {}).get("backfill")
        if not backfill:
            return None
        start = datetime.fromisoformat(backfill["start"])
        end = datetime.fromisoformat(backfill["end"])
        oldest = (
            datetime.fromisoformat(backfill["oldest"])
            if backfill.get("oldest")
            else end
        )
        span = (end - start).total_seconds()
        if span <= 0:
            return 1.0
        return max(0.0, min(1.0, (end - oldest).total_seconds() / span))


class Author(models.Model):
    """An X user who wrote to or about the brand. Names and bios are untrusted text."""

    x_id = models.CharField("X user id", max_length=20)
    handle = models.CharField(max_length=50)
    name = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    followers_count = models.PositiveIntegerField(default=0)
    verified = models.BooleanField(default=False)
    avatar_url = models.URLField(max_length=500, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["handle"], name="mentions_author_handle")]
        # A constraint rather than unique=True: the same unique index without the extra LIKE index that
        # Postgres gets for unique CharFields (ingest writes every index on every upsert).
        constraints = [
            models.UniqueConstraint(fields=["x_id"], name="mentions_author_x_id_unique")
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class Thread(models.Model):
    """Consecutive posts of one customer in one conversation (or one DM conversation)."""

    conversation_id = models.CharField(max_length=45)
    # No database constraint (see the comment on Mention.account): written by ingest only.
    author = models.ForeignKey(
        Author,
        on_delete=models.PROTECT,
        related_name="threads",
        db_constraint=False,
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation_id", "author"],
                name="mentions_thread_conversation_author",
            )
        ]

    def __str__(self) -> str:
        return f"thread {self.conversation_id} by {self.author_id}"


class Tag(models.Model):
    """A label agents and escalation rules put on mentions (e.g. "billing", "outage")."""

    name = models.CharField(max_length=50, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PriorityKeyword(models.Model):
    """An admin's keyword that raises a mention's priority score (e.g. "refund", "lawyer", "outage")."""

    term = models.CharField(max_length=100, unique=True)
    points = models.SmallIntegerField(default=20)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return self.term


# The queue's "most urgent first" order as index expressions, all ascending so that one row comparison
# `(due, neg_priority, created_at, id) > (...)` is a single index range (mentions/queue.py):
# SLA due time with "no clock" last, then the higher priority, then the older post.
NO_DUE_AT = datetime(9999, 12, 31, tzinfo=UTC)
URGENCY_DUE = Coalesce("sla_due_at", Value(NO_DUE_AT))
URGENCY_PRIORITY = F("priority") * -1
# Statuses that still need an answer: the default queue and its partial index.
OPEN_STATUSES = ("new", "open")


class Mention(models.Model):
    """One inbound post or DM, with its triage state."""

    class Kind(models.TextChoices):
        POST = "post", "Post"
        DM = "dm", "DM"

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        WAITING = "waiting", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        MONITORING = "monitoring", "Monitoring"
        SPAM = "spam", "Spam"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    x_id = models.CharField("X id", max_length=20)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.POST)
    # No index of its own: written on every ingested row, and no hot query looks mentions up by account
    # alone (the queue and the dashboard filter inside a created_at/urgency range).
    #
    # The relations that ingest writes on every row (account, author, thread, team here; Thread.author;
    # both sides of MentionStream) have no database foreign-key constraint (`db_constraint=False`):
    # PostgreSQL checks each one with a row lookup at COMMIT, ~7 checks per mention, which cost ~40%
    # of an ingested page's commit (docs/ingest.md). Integrity is kept by the code instead: ingest takes
    # every id from rows the same statement upserted or read (in the same snapshot), accounts, authors
    # and threads are never deleted while mentions use them (on_delete=PROTECT, enforced by Django),
    # and Django's on_delete (CASCADE, SET_NULL) runs in Python for every ORM delete.
    # tests/mentions/test_integrity.py checks both.
    account = models.ForeignKey(
        XAccount,
        on_delete=models.PROTECT,
        related_name="mentions",
        db_index=False,
        db_constraint=False,
    )
    author = models.ForeignKey(
        Author,
        on_delete=models.PROTECT,
        related_name="mentions",
        db_index=False,  # mentions_mention_author leads with it
        db_constraint=False,
    )
    thread = models.ForeignKey(
        Thread, on_delete=models.PROTECT, related_name="mentions", db_constraint=False
    )
    text = models.TextField()
    lang = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(
        help_text="When the customer posted (X's created_at, UTC)."
    )
    ingested_at = models.DateTimeField(default=timezone.now)
    conversation_id = models.CharField(max_length=45, blank=True)
    in_reply_to_x_id = models.CharField(max_length=20, blank=True)
    summons_brand = models.BooleanField(
        default=False,
        help_text="The author @mentioned or quoted the brand: X allows an API reply only then.",
    )
    streams = models.ManyToManyField(
        Stream, through="MentionStream", related_name="mentions"
    )
    raw = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_mentions",
        db_index=False,  # mentions_mention_assignee (partial) serves every lookup by assignee
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mentions",
        db_index=False,  # the queue's team filter uses mentions_mention_team
        db_constraint=False,  # written by ingest: see `account`
    )
    tags = models.ManyToManyField(Tag, related_name="mentions", blank=True)
    # Priority: computed at ingest (mentions/scoring.py) with the reasons shown as "why urgent";
    # an agent's override is kept (is_priority_overridden) and never recomputed.
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.NORMAL
    )
    priority_score = models.SmallIntegerField(default=0)
    priority_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"reason": "Direct @mention", "points": 20}, ...]',
    )
    is_priority_overridden = models.BooleanField(default=False)
    # VADER compound score in [-1, 1]; None until scored.
    sentiment = models.FloatField(null=True, blank=True)
    is_monitoring_suggested = models.BooleanField(
        default=False,
        help_text="A passing mention that seems to need no answer (positive, no question, no @mention).",
    )
    # The due time of the mention's most urgent running SLA clock (mentions/sla); None when no clock
    # runs. Denormalised so that the queue's default order ("most urgent first") is one index scan.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    # When that clock's countdown turns amber (the policy's warning share of the target), and the
    # hover text (target, business-hours due time in the calendar's zone): set with sla_due_at.
    sla_warning_at = models.DateTimeField(null=True, blank=True)
    sla_hint = models.CharField(max_length=200, blank=True)
    # Bumped by every triage change (and set by the database on insert, so ingest's raw INSERTs need not
    # name it): the live queue asks for the rows changed since its cursor (mentions/queue.py).
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        # Every index here is written on every ingested row (bench/ingest): keep only those a query needs.
        constraints = [
            models.UniqueConstraint(
                fields=["x_id"], name="mentions_mention_x_id_unique"
            )
        ]
        indexes = [
            # Date ranges (`from`/`to`) and the dashboards: newest first on created_at.
            models.Index(fields=["-created_at", "-id"], name="mentions_mention_queue"),
            # The default queue (open work), most urgent first, keyset on the same expressions.
            models.Index(
                URGENCY_DUE,
                URGENCY_PRIORITY,
                "created_at",
                "id",
                name="mentions_mention_open_urgency",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            # The queue filtered by one status (waiting, monitoring, ...), most urgent first.
            models.Index(
                "status",
                URGENCY_DUE,
                URGENCY_PRIORITY,
                "created_at",
                "id",
                name="mentions_mention_status_due",
            ),
            # My mentions, most urgent first. Never written by ingest (new mentions have no assignee).
            models.Index(
                "assignee",
                URGENCY_DUE,
                URGENCY_PRIORITY,
                "created_at",
                "id",
                name="mentions_mention_mine",
                condition=Q(assignee__isnull=False, status__in=OPEN_STATUSES),
            ),
            # view=all: every mention, most urgent first.
            models.Index(
                URGENCY_DUE,
                URGENCY_PRIORITY,
                "created_at",
                "id",
                name="mentions_mention_urgency",
            ),
            # The live queue's poll: rows changed since the cursor.
            models.Index(fields=["updated_at"], name="mentions_mention_updated"),
            # The workspace's author card: the author's earlier mentions, newest first.
            models.Index(
                fields=["author", "-created_at", "-id"], name="mentions_mention_author"
            ),
            # The workspace's conversation: every post of one conversation, in order.
            models.Index(
                fields=["conversation_id", "created_at", "id"],
                name="mentions_mention_conversation",
                condition=~Q(conversation_id=""),
            ),
            # "My mentions".
            models.Index(
                fields=["assignee", "status"],
                name="mentions_mention_assignee",
                condition=Q(assignee__isnull=False),
            ),
            # The queue filtered by team.
            models.Index(
                fields=["team", "status"],
                name="mentions_mention_team",
                condition=Q(team__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.x_id}"

    @property
    def detection_lag(self) -> timedelta:
        """How long X took to show us the post (post time -> ingested); never part of response times."""
        return self.ingested_at - self.created_at

    @property
    def detection_lag_seconds(self) -> float:
        return self.detection_lag.total_seconds()

    def sentiment_label(self) -> str:
        """negative / neutral / positive by VADER's customary ±0.05 band; "" when not scored."""
        if self.sentiment is None:
            return ""
        if self.sentiment <= -0.05:
            return "negative"
        if self.sentiment >= 0.05:
            return "positive"
        return "neutral"

    def x_url(self) -> str:
        if self.kind == self.Kind.DM:
            return f"https://x.com/messages/{self.conversation_id}"
        return f"https://x.com/{self.author.handle}/status/{self.x_id}"


class MentionStream(models.Model):
    """Which streams matched a mention (a post can match a search and the @mentions timeline)."""

    # Written by ingest for every mention: no database constraints (see Mention.account).
    mention = models.ForeignKey(
        Mention, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )  # unique index leads with it
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, db_constraint=False)
    matched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mention", "stream"], name="mentions_mentionstream_unique"
            )
        ]

    def __str__(self) -> str:
        return f"mention {self.mention_id} matched by stream {self.stream_id}"


class MentionEvent(models.Model):
    """The mention's history: who did what, when (triage changes, replies, hand-offs, escalations).

    Written by the service that makes the change, in the same transaction (the idea of
    django-helpdesk's TicketChange). `responders` records its replies and hand-offs here through
    `mentions.history.record_event`, so the workspace can show them without importing `responders`.
    """

    class Kind(models.TextChoices):
        INGESTED = "ingested", "Arrived"
        ASSIGNED = "assigned", "Assigned"
        STATUS = "status", "Status changed"
        PRIORITY = "priority", "Priority changed"
        TAGGED = "tagged", "Tagged"
        UNTAGGED = "untagged", "Tag removed"
        NOTE = "note", "Internal note"
        REPLY = "reply", "Public reply"
        DM = "dm", "Direct message"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone call"
        HANDOFF = "handoff", "Hand-off"
        SLA = "sla", "SLA"
        ESCALATION = "escalation", "Escalation"

    mention = models.ForeignKey(
        Mention, on_delete=models.CASCADE, related_name="events", db_index=False
    )  # mentions_mentionevent_mention leads with it
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for automated actions (ingest, SLA, escalation rules).",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    message = models.TextField(help_text="A plain-text summary shown in the history.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The workspace's history, in order.
            models.Index(
                fields=["mention", "created_at", "id"],
                name="mentions_mentionevent_mention",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} on mention {self.mention_id}"


class Note(models.Model):
    """An internal note on a mention: never sent anywhere."""

    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when an escalation rule wrote it.",
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on mention {self.mention_id}"
