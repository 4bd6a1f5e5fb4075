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


class Recheck(models.Model):
    """Check an "unassigned for X minutes" rule on a mention again at `due_at`.

    An assignment change restarts the "unassigned for" time without the mention row changing when
    that time runs out, so the sweep that sees the change (the row's updated_at moved) writes when
    the rule could first match: the last assignment change + X. Sweeps pick these up through the
    due-time index instead of re-reading every open mention (mentions/escalation/delta.py).
    """

    rule = models.ForeignKey(
        EscalationRule,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # escalation_recheck_once leads with it
    )
    # No index of its own: the table holds a row per recently unassigned mention and rule, and a
    # mention is deleted rarely.
    mention = models.ForeignKey(
        "mentions.Mention", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "mention"], name="escalation_recheck_once"
            )
        ]
        indexes = [models.Index(fields=["due_at"], name="escalation_recheck_due")]

    def __str__(self) -> str:
        return f"rule {self.rule_id} on mention {self.mention_id} at {self.due_at:%Y-%m-%d %H:%M}"


class SweepState(models.Model):
    """How far the sweeps have got: one row, the `now` of the latest sweep that completed.

    The next sweep looks at what changed since then (less an overlap for transactions that were
    still open), so a sweep that runs late, or after the workers were down, misses nothing.
    """

    swept_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"swept at {self.swept_at:%Y-%m-%d %H:%M:%S}"


class Backfill(models.Model):
    """A per-mention rule's check against the open mentions that existed when it was created,
    edited or enabled, done a slice of ids per sweep (mentions/escalation/backfill.py).

    One row per rule version (`version` is the rule's updated_at): editing the rule starts a new one.
    Mentions above `last_id` arrived later and were checked at ingest; changes after the start are
    found by the sweeps' change tracking (delta.py), so one pass over the ids is enough.
    """

    rule = models.ForeignKey(
        EscalationRule,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # escalation_backfill_once leads with it
    )
    version = models.DateTimeField()
    # Mentions with next_id < id <= last_id are still to be checked.
    next_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "version"], name="escalation_backfill_once"
            )
        ]

    def __str__(self) -> str:
        return f"rule {self.rule_id} checked up to mention {self.next_id} of {self.last_id}"
