"""Celery task of the dashboard's rollup (beat runs it every minute on the default queue)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from mentions.dashboard import rollup


@shared_task(ignore_result=True)
def refresh_dashboard_rollup_task() -> None:
    """Fold late changes into the rollup; overlapping runs wait for each other (a row lock)."""
    rollup.refresh(now=timezone.now())
