"""Celery tasks of the escalation sweep (routed to the sla queue; deliveries to the delivery queue)."""

from __future__ import annotations
