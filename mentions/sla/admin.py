"""Django admin for the SLA models (the purpose-built pages live under /settings/sla/)."""

from __future__ import annotations

from django.contrib import admin

from mentions.sla.models import (
    BusinessCalendar,
    Holiday,
    OpenInterval,
    SlaClock,
    SlaPolicy,
)


class OpenIntervalInline(admin.TabularInline):  # type: ignore[type-arg]  # generic only in django-stubs
    model = OpenInterval
    extra = 0


class HolidayInline(admin.TabularInline):  # type: ignore[type-arg]  # generic only in django-stubs
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in django-stubs
    list_display = ["name", "time_zone", "is_always_open", "holiday_country"]
    inlines = [OpenIntervalInline, HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in django-stubs
    list_display = [
        "name",
        "position",
        "is_default",
        "is_active",
        "calendar",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
    ]
    list_editable = ["position"]


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in django-stubs
    list_display = [
        "mention",
        "target",
        "cycle",
        "state",
        "is_late",
        "due_at",
        "stopped_at",
    ]
    list_filter = ["target", "state", "is_late"]
    raw_id_fields = ["mention", "stopped_by"]
    list_select_related = ["mention"]
