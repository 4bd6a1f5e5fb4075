from __future__ import annotations

from django.contrib import admin

from responders.forms import GuardSettingsForm, PrivacyPatternForm
from responders.models import (
    CannedResponse,
    GuardSettings,
    Handoff,
    Outbound,
    PrivacyPattern,
)


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin
    list_display = ["title", "channel", "purpose", "is_active"]
    list_filter = ["channel", "purpose", "is_active"]
    search_fields = ["title", "body"]


@admin.register(GuardSettings)
class GuardSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin
    form = GuardSettingsForm
    list_display = ["__str__", "privacy_mode", "undo_seconds", "cooloff_threshold"]

    def has_add_permission(self, request: object) -> bool:
        return not GuardSettings.objects.exists()


@admin.register(PrivacyPattern)
class PrivacyPatternAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin
    form = PrivacyPatternForm
    list_display = ["name", "regex", "is_active"]


@admin.register(Outbound)
class OutboundAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin
    list_display = [
        "pk",
        "channel",
        "state",
        "mention",
        "agent",
        "created_at",
        "sent_at",
    ]
    list_filter = ["channel", "state"]
    readonly_fields = [f.name for f in Outbound._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # django-stubs generic admin
    list_display = ["pk", "channel", "contact", "status", "promised_at", "mention"]
    list_filter = ["channel", "status"]
