"""What we send out: Outbound (reply, DM, email, logged call), Handoff, canned responses, guard settings.

The Outbound lifecycle (DESIGN "Lifecycles"): `queued` (undo window until `release_at`) → `sending`
(claimed by one worker with a conditional UPDATE and a lease) → `sent` | `failed`; `cancelled` when the
agent undid it (or its hand-off failed before it left). A retry of a row that may already have reached X
reconciles with X first (responders/delivery.py).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mentions.models import Mention


class Handoff(models.Model):
    """A move of the conversation off the timeline: DM, email or a phone callback."""

    class Channel(models.TextChoices):
        DM = "dm", "DM"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    class Status(models.TextChoices):
        PENDING = "pending", "Sending"  # the DM or email has not left yet
        OPEN = "open", "Open"  # contacted / callback promised; follow-up pending
        DONE = "done", "Resolved"
        FAILED = "failed", "Failed"  # the DM or email could not be delivered

    class CallOutcome(models.TextChoices):
        REACHED = "reached", "Reached the customer"
        NO_ANSWER = "no_answer", "No answer"
        VOICEMAIL = "voicemail", "Left a voicemail"
        WRONG_NUMBER = "wrong_number", "Wrong number"

    mention = models.ForeignKey(
        Mention, on_delete=models.CASCADE, related_name="handoffs"
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    contact = models.CharField(
        max_length=254, help_text="@handle, email address or E.164 phone number."
    )
    promised_at = models.DateTimeField(
        null=True, blank=True, help_text="When we promised to follow up (UTC)."
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    outcome = models.TextField(blank=True)
    call_outcome = models.CharField(
        max_length=12, choices=CallOutcome.choices, blank=True
    )
    # The DM conversation our message opened, so the customer's DM answers can be found with it.
    dm_conversation_id = models.CharField(max_length=45, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="handoffs",
    )
    is_followup_dismissed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} hand-off of mention {self.mention_id}"


class Outbound(models.Model):
    """One thing we send: a public reply, a DM, an email, or a logged phone call."""

    class Channel(models.TextChoices):
        REPLY = "reply", "Public reply"
        DM = "dm", "DM"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone call"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Undone"

    FINAL_STATES = (State.SENT, State.FAILED, State.CANCELLED)

    mention = models.ForeignKey(
        Mention, on_delete=models.CASCADE, related_name="outbounds"
    )
    handoff = models.ForeignKey(
        Handoff,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbounds",
    )
    channel = models.CharField(max_length=5, choices=Channel.choices)
    text = models.TextField()
    subject = models.CharField(max_length=200, blank=True)
    recipient = models.CharField(
        max_length=254,
        blank=True,
        help_text="X user id (DM), email address or phone number.",
    )
    include_quote = models.BooleanField(
        default=False, help_text="Email only: quote the customer's post."
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="outbounds",
    )
    state = models.CharField(max_length=9, choices=State.choices, default=State.QUEUED)
    release_at = models.DateTimeField(
        help_text="End of the undo window: the worker does not touch it before."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(
        max_length=200, blank=True, help_text="X post id, DM event id or Message-ID."
    )
    dm_conversation_id = models.CharField(max_length=45, blank=True)
    url = models.URLField(blank=True)
    failure_reason = models.TextField(blank=True)
    is_retryable = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The collision check: other agents' outbounds on this mention since the composer opened.
            models.Index(
                fields=["mention", "-created_at"], name="responders_outbound_mention"
            ),
            # The recovery sweep: rows stuck in queued/sending.
            models.Index(
                fields=["state", "release_at"],
                name="responders_outbound_unfinished",
                condition=Q(state__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.pk} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    def can_undo(self, now: datetime) -> bool:
        return self.state == self.State.QUEUED and self.release_at > now

    def undo_seconds_left(self, now: datetime) -> int:
        return max(0, int((self.release_at - now).total_seconds() + 0.999))


class CannedResponse(models.Model):
    """A saved answer; placeholders like {{ author.handle }} are filled by responders/canned.py."""

    class Channel(models.TextChoices):
        ANY = "any", "Any channel"
        REPLY = "reply", "Public reply"
        DM = "dm", "DM"
        EMAIL = "email", "Email"

    class Purpose(models.TextChoices):
        GENERAL = "general", "General"
        TAKE_OFFLINE = "offline", "Take offline (public part)"
        FOLLOWUP = "followup", "Public follow-up after a hand-off"

    title = models.CharField(max_length=100)
    body = models.TextField(
        help_text="Placeholders: {{ author.handle }}, {{ author.name }}, {{ agent.first_name }}, "
        "{{ brand.handle }}, {{ brand.email }}, {{ brand.phone }}, {{ contact.email }}, {{ contact.phone }}."
    )
    channel = models.CharField(max_length=5, choices=Channel.choices, default="any")
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default="general")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class GuardSettings(models.Model):
    """One row (pk=1): the privacy guard mode, the cool-off thresholds, the undo window, contact details."""

    class Mode(models.TextChoices):
        BLOCK = "block", "Block the reply (offer a DM instead)"
        WARN = "warn", "Warn only"

    privacy_mode = models.CharField(max_length=5, choices=Mode.choices, default="block")
    phone_region = models.CharField(
        max_length=2,
        default="US",
        help_text="Region for phone numbers written without a country code (ISO 3166 code).",
    )
    undo_seconds = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Undo window for public replies; empty means REPLY_UNDO_SECONDS.",
    )
    cooloff_threshold = models.FloatField(
        default=-0.5,
        help_text="Mean VADER compound at or below which a thread is heated.",
    )
    cooloff_min_posts = models.PositiveSmallIntegerField(
        default=3,
        help_text="Posts back and forth (theirs and ours) before cool-off applies.",
    )
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "guard settings"
        verbose_name_plural = "guard settings"

    def __str__(self) -> str:
        return "Responder guard settings"

    @classmethod
    def load(cls) -> GuardSettings:
        return cls.objects.get_or_create(pk=1)[0]

    def effective_undo_seconds(self) -> int:
        return (
            self.undo_seconds
            if self.undo_seconds is not None
            else int(settings.REPLY_UNDO_SECONDS)
        )


class PrivacyPattern(models.Model):
    """An admin's account/order number pattern (a Python regular expression) for the privacy guard."""

    name = models.CharField(
        max_length=60, help_text='Shown to agents, e.g. "order number".'
    )
    regex = models.CharField(max_length=300)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
