"""Small read-only SLA figures for operators (manage.py scansla)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from mentions.sla.models import SlaClock

State = SlaClock.State


def clock_counts(*, now: datetime) -> dict[str, int]:
    """Clock counts by state, plus running clocks already overdue but not yet marked breached."""
    running = Q(stopped_at__isnull=True)
    figures = SlaClock.objects.aggregate(
        active=Count("id", filter=running & Q(state=State.ACTIVE)),
        overdue_unmarked=Count(
            "id", filter=running & Q(state=State.ACTIVE, due_at__lte=now)
        ),
        paused=Count("id", filter=running & Q(state=State.PAUSED)),
        breached_running=Count("id", filter=running & Q(state=State.BREACHED)),
        met=Count("id", filter=Q(state=State.MET, is_late=False)),
        met_late=Count("id", filter=Q(state=State.MET, is_late=True)),
        cancelled=Count("id", filter=Q(state=State.CANCELLED)),
    )
    return {
        "active": figures["active"],
        "overdue, not yet marked": figures["overdue_unmarked"],
        "paused": figures["paused"],
        "breached, still running": figures["breached_running"],
        "met": figures["met"],
        "met late": figures["met_late"],
        "cancelled": figures["cancelled"],
    }
