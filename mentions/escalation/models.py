"""Escalation rules, their firings and notifications.

A rule's `conditions` and `actions` are JSON whose shape `mentions.escalation.rules` defines and
validates (the admin form goes through it), so a new condition needs no migration.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from mentions.fields import EncryptedTextField


class EscalationRule(models.Model):
    """Conditions (all must hold) -> actions; fires at most once per mention per target cycle."""

    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Rules run in this order (lower first)."
    )
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list, blank=True)
    # Signs the webhook body (HMAC-SHA256); encrypted at rest and never rendered back to a browser.
    webhook_secret = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clock_target(self) -> str:
        """The SLA target whose cycles the rule fires once per ("" = once per mention)."""
        clock: dict[str, Any] = self.conditions.get("clock") or {}
        return str(clock.get("target", ""))


class EscalationFiring(models.Model):
    """One rule firing on one mention for one clock target cycle (target "" and cycle 0: per mention).

    The unique constraint is what makes a rule fire once however many workers sweep at once: the
    sweep inserts with ON CONFLICT DO NOTHING and acts only on the rows it actually inserted.
    """

    rule = models.ForeignKey(
        EscalationRule,
        on_delete=models.CASCADE,
        related_name="firings",
        db_index=False,  # escalation_firing_once leads with it
    )
    mention = models.ForeignKey(
        "mentions.Mention", on_delete=models.CASCADE, related_name="escalation_firings"
    )
    target = models.CharField(max_length=16, blank=True)
    cycle = models.PositiveSmallIntegerField(default=0)
    fired_at = models.DateTimeField()

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            # Once per rule, mention and target cycle; also serves the sweep's "not fired yet" anti-join.
            models.UniqueConstraint(
                fields=["rule", "mention", "target", "cycle"],
                name="escalation_firing_once",
            )
        ]
        indexes = [
            # The rule page: its most recent firings.
            models.Index(fields=["rule", "-fired_at"], name="escalation_firing_recent"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.rule_id} on mention {self.mention_id} ({self.target} #{self.cycle})"
        )


class Notification(models.Model):
    """One message to one destination (an email address or a webhook URL), delivered by a task."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    firing = models.ForeignKey(
        EscalationFiring, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    destination = models.CharField(max_length=500)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The sweep's re-queue of lost deliveries (queued or stuck in sending).
            models.Index(
                fields=["state", "next_attempt_at"],
                name="escalation_notification_due",
                condition=models.Q(state__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.destination} ({self.state})"
