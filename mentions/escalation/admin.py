"""Django admin: read-mostly views of firings and notifications (rules are edited on the settings pages)."""

from __future__ import annotations

from django.contrib import admin

from mentions.escalation.models import EscalationFiring, EscalationRule, Notification


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin, not subscriptable at run time
    list_display = ["name", "is_active", "position", "updated_at"]
    # The secret is write-only (settings page); conditions/actions go through the validating form there.
    exclude = ["webhook_secret"]
    readonly_fields = ["conditions", "actions"]


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
