"""A fresh install gets clocks: a 24/7 calendar and a default policy (60 min / 60 min / 24 h)."""

from __future__ import annotations

from django.db import migrations

CALENDAR = "24/7"
POLICY = "Default"


def create(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name=CALENDAR, defaults={"time_zone": "UTC", "is_always_open": True}
    )
    if not SlaPolicy.objects.filter(is_default=True).exists():
        SlaPolicy.objects.get_or_create(
            name=POLICY,
            defaults={
                "calendar": calendar,
                "is_default": True,
                "position": 1000,
                "first_response_minutes": 60,
                "next_response_minutes": 60,
                "resolution_minutes": 24 * 60,
                "warning_share": 75,
            },
        )


def remove(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    SlaPolicy.objects.filter(name=POLICY, calendar__name=CALENDAR).delete()
    BusinessCalendar.objects.filter(name=CALENDAR, policies__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_add_clock_warning_and_paused_business")]

    operations = [migrations.RunPython(create, remove)]
