"""Django admin: read-mostly views of firings and notifications (rules are edited on the settings pages)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from mentions.escalation.models import EscalationFiring, EscalationRule, Notification


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin, not subscriptable at run time
    list_display = ["name", "is_active", "position", "updated_at"]
    # The secret is write-only (settings page); conditions/actions go through the validating form there.
    exclude = ["webhook_secret"]
    readonly_fields = ["conditions", "actions", "updated_at"]

    def save_model(
        self, request: HttpRequest, obj: EscalationRule, form: Any, change: bool
    ) -> None:
        # A rule enabled here must meet the open mentions too: the sweep starts a backfill for
        # every rule version saved recently (mentions/escalation/backfill.py).
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(EscalationFiring)
class EscalationFiringAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin, not subscriptable at run time
    list_display = ["rule", "mention", "target", "cycle", "fired_at"]
    list_select_related = ["rule"]
    raw_id_fields = ["mention"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin, not subscriptable at run time
    list_display = ["firing", "channel", "destination", "state", "attempts", "sent_at"]
    list_filter = ["state", "channel"]
    raw_id_fields = ["firing"]
