"""The Celery app, its queue names and the fixed beat schedule.

A stream's own poll interval lives on its row (`Stream.next_poll_at`); beat only dispatches the due ones.
"""

from __future__ import annotations

import os
from enum import StrEnum

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


class Queue(StrEnum):
    """Separate queues so a slow X API never delays delivery or the SLA sweep."""

    POLL = "poll"
    DELIVERY = "delivery"
    SLA = "sla"
    DEFAULT = "default"


app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = Queue.DEFAULT.value
# Routing lives here rather than in `@shared_task(queue=...)`, which Celery 5.7 deprecates.
app.conf.task_routes = {
    "mentions.tasks.*": {"queue": Queue.POLL.value},
    "responders.tasks.*": {"queue": Queue.DELIVERY.value},
    # Notifications leave through SMTP/webhooks, which can be slow: never on the sweep's queue.
    "mentions.escalation.tasks.deliver_*": {"queue": Queue.DELIVERY.value},
    "mentions.escalation.tasks.*": {"queue": Queue.SLA.value},
    "mentions.sla.tasks.*": {"queue": Queue.SLA.value},
    "mentions.dashboard.tasks.*": {"queue": Queue.DEFAULT.value},
}
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _setup_beat_schedule(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "dispatch-due-streams": {
            "task": "mentions.tasks.dispatch_due_streams_task",
            "schedule": settings.X_DISPATCH_INTERVAL,
            "options": {
                "queue": Queue.POLL.value,
                "expires": settings.X_DISPATCH_INTERVAL * 2,
            },
        },
        # Picks up outbound rows whose task was lost (a worker killed outright): see responders/delivery.py.
        "recover-outbounds": {
            "task": "responders.tasks.recover_outbounds_task",
            "schedule": 60.0,
            "options": {"queue": Queue.DELIVERY.value, "expires": 120},
        },
        "sweep-escalations": {
            "task": "mentions.escalation.tasks.sweep_escalations_task",
            "schedule": settings.SLA_SWEEP_INTERVAL,
            "options": {
                "queue": Queue.SLA.value,
                "expires": settings.SLA_SWEEP_INTERVAL * 2,
            },
        },
        # Folds late changes (answers, reopens, breaches) into the dashboard's daily rollup.
        "refresh-dashboard-rollup": {
            "task": "mentions.dashboard.tasks.refresh_dashboard_rollup_task",
            "schedule": 60.0,
            "options": {"queue": Queue.DEFAULT.value, "expires": 120},
        },
    }
