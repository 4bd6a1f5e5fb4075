"""State of the sandbox X API: fake X users, posts, DMs, tokens, rate-limit counters and faults.

These tables are the sandbox's own; nothing in the helpdesk proper reads them. Ids of posts and DM
events are X-style snowflakes stored as the primary key (see ids.py), so ordering by id is ordering by
time, exactly like the real API's since_id/until_id arithmetic.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SandboxUser(models.Model):
    """A fake X account: a customer, or the brand itself."""

    x_id = models.CharField("X user id", max_length=19, unique=True)
    username = models.CharField(max_length=15, unique=True)
    # Lowercase copy: X usernames are case-insensitive (@handle, from:, to:).
    username_lower = models.CharField(max_length=15, unique=True)
    name = models.CharField(max_length=50)
    description = models.CharField(max_length=160, blank=True)
    profile_image_url = models.URLField(blank=True)
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    verified = models.BooleanField(default=False)
    protected = models.BooleanField(default=False)
    accepts_dms = models.BooleanField(
        default=True, help_text="False: DMs to this user get a 403."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["username_lower"]

    def __str__(self) -> str:
        return f"@{self.username}"


class SandboxPost(models.Model):
    """A post (tweet). `id` is its snowflake id."""

    id = models.BigIntegerField(primary_key=True)
    author = models.ForeignKey(
        SandboxUser, on_delete=models.CASCADE, related_name="posts"
    )
    text = models.TextField()
    lang = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField()
    conversation_id = models.BigIntegerField()
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    in_reply_to_user = models.ForeignKey(
        SandboxUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quote_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes"
    )
    retweet_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retweets",
    )
    # " alice bob " (lowercase, space-wrapped) so `__contains=" alice "` finds mentions on any database.
    mention_usernames = models.TextField(default=" ")
    hashtags = models.TextField(default=" ")
    is_deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Duplicate-content check on POST /2/tweets: same author, recent posts.
            models.Index(fields=["author", "-id"], name="xsandbox_post_author_recent"),
            models.Index(fields=["conversation_id"], name="xsandbox_post_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.id} @{self.author_id}: {self.text[:40]}"

    @property
    def x_id(self) -> str:
        return str(self.id)

    def mentions(self, username: str) -> bool:
        return f" {username.lower()} " in self.mention_usernames


class SandboxDMEvent(models.Model):
    """A direct message (a MessageCreate event) in a one-to-one conversation."""

    id = models.BigIntegerField(primary_key=True)
    event_type = models.CharField(max_length=20, default="MessageCreate")
    dm_conversation_id = models.CharField(max_length=40)
    sender = models.ForeignKey(
        SandboxUser, on_delete=models.CASCADE, related_name="sent_dms"
    )
    recipient = models.ForeignKey(
        SandboxUser, on_delete=models.CASCADE, related_name="received_dms"
    )
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # GET /2/dm_conversations/:id/dm_events pages newest first within one conversation.
            models.Index(
                fields=["dm_conversation_id", "-id"], name="xsandbox_dm_conversation"
            ),
        ]

    def __str__(self) -> str:
        return f"DM {self.id} in {self.dm_conversation_id}"

    @property
    def x_id(self) -> str:
        return str(self.id)


class SandboxIdSequence(models.Model):
    """One row per name holding the last snowflake handed out (locked with select_for_update)."""

    name = models.CharField(max_length=20, unique=True)
    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"


class SandboxOAuthClient(models.Model):
    """A developer app's OAuth 2.0 client (confidential when it has a secret)."""

    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=200, blank=True)
    redirect_uris = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.client_id


class SandboxToken(models.Model):
    """A credential the sandbox accepts: app-only bearer, OAuth 2.0 user token, or OAuth 1.0a key pair."""

    class Kind(models.TextChoices):
        APP = "app", "App-only bearer"
        USER = "user", "OAuth 2.0 user"
        OAUTH1 = "oauth1", "OAuth 1.0a user"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Bearer value, or the oauth_token of an OAuth 1.0a pair.
    token = models.CharField(max_length=200, unique=True)
    refresh_token = models.CharField(max_length=200, unique=True, null=True, blank=True)
    consumer_key = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        SandboxUser,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
    )
    client = models.ForeignKey(
        SandboxOAuthClient, null=True, blank=True, on_delete=models.CASCADE
    )
    scope = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} token {self.pk}"


class SandboxAuthCode(models.Model):
    """An OAuth 2.0 authorization code waiting to be exchanged (valid 30 s, once)."""

    code = models.CharField(max_length=100, unique=True)
    client = models.ForeignKey(SandboxOAuthClient, on_delete=models.CASCADE)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=500)
    scope = models.CharField(max_length=300)
    code_challenge = models.CharField(max_length=200)
    code_challenge_method = models.CharField(max_length=10, default="S256")
    created_at = models.DateTimeField(default=timezone.now)
    is_used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"code for {self.client_id}"


class SandboxRateLimit(models.Model):
    """A run-time override of one endpoint's limit (both per-app and per-user buckets)."""

    endpoint = models.CharField(max_length=30, unique=True)
    limit = models.PositiveIntegerField()
    window_seconds = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.limit}/{self.window_seconds}s"


class SandboxRateCounter(models.Model):
    """Calls in the current window of one bucket; updated with conditional UPDATEs (multi-process safe)."""

    bucket = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.bucket}: {self.count}"


class SandboxFault(models.Model):
    """An injected failure for the next `remaining` calls of an endpoint, after `skip` normal calls."""

    class Kind(models.TextChoices):
        RATE_LIMIT = "rate_limit"
        USAGE_CAP = "usage_cap"
        CREDITS = "credits"
        SERVER_ERROR = "server_error"
        SLOW = "slow"
        PARTIAL_ERRORS = "partial_errors"
        UNAUTHORIZED = "unauthorized"
        # The call succeeds (a post is created) but the answer is held back for delay_seconds: the
        # client's "did X accept it?" window, used to test crash recovery and reconciliation.
        LOST_RESPONSE = "lost_response"

    endpoint = models.CharField(max_length=30)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    remaining = models.PositiveIntegerField(default=1)
    skip = models.PositiveIntegerField(default=0)
    delay_seconds = models.FloatField(default=0.0)
    reset_in_seconds = models.PositiveIntegerField(default=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.endpoint} x{self.remaining}"
