"""The queue: the page, its live poll, and bulk actions on selected rows."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from helpdesk.lib.http import AuthedHttpRequest
from mentions import queue, triage
from mentions.forms import (
    SENTIMENT_CHOICES,
    SLA_CHOICES,
    VIEW_CHOICES,
    BulkActionForm,
    QueueFilterForm,
    tag_names,
)
from mentions.models import Mention
from mentions.views.common import Choice, choices, staff_required


def _since_param(raw: str | None) -> datetime | None:
    if not raw or not raw.isdigit() or len(raw) > 17:
        return None
    return queue.from_micros(int(raw))


def _filter_query(request: AuthedHttpRequest, **extra: str) -> str:
    """The current filters as a query string (without the page cursor), plus `extra`."""
    pairs = [(k, v) for k, vs in request.GET.lists() for v in vs if k != "after"]
    pairs += list(extra.items())
    return urlencode(pairs)


def _choice_list(name: str) -> list[Choice]:
    return choices()[name]


def _queue_context(request: AuthedHttpRequest, now: datetime) -> dict[str, Any]:
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    after_raw = request.GET.get("after", "")
    after = queue.Key.decode(after_raw) if after_raw else None
    qs = queue.filtered(filters, user=request.user, now=now)
    page = queue.page(qs, after=after, now=now)
    more_url = (
        f"{reverse('mentions:queue')}?{_filter_query(request, after=page.next_key.encode())}"
        if page.next_key
        else ""
    )
    return {
        "form": form,
        "filters": filters,
        "view": filters.get("view", ""),
        "views": VIEW_CHOICES,
        "statuses": Mention.Status.choices,
        "priorities": Mention.Priority.choices,
        "sentiments": SENTIMENT_CHOICES,
        "sla_choices": SLA_CHOICES,
        "kinds": Mention.Kind.choices,
        "mentions": page.rows,
        "more_url": more_url,
        "after": after_raw,
        "checked_at": queue.to_micros(now),
        "updates_url": reverse("mentions:queue-updates"),
    }


@require_GET
@staff_required
def mention_queue(request: AuthedHttpRequest) -> HttpResponse:
    """The queue page; for htmx, only the table (filters changed) or the next rows (load more)."""
    now = timezone.now()
    try:
        context = _queue_context(request, now)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    if request.htmx and context["after"]:
        return render(request, "mentions/_queue_page.html", context)
    if request.htmx and request.htmx.target == "mention-table":
        return render(request, "mentions/mention_list.html#mention-table", context)
    # Read only when the cached filter and bulk bars have expired.
    context.update(
        {
            name: SimpleLazyObject(partial(_choice_list, name))
            for name in ("agents", "teams", "streams")
        }
    )
    return render(request, "mentions/mention_list.html", context)


@require_GET
@staff_required
def mention_queue_updates(request: AuthedHttpRequest) -> HttpResponse:
    """The live poll: rows new or changed since `since` (micros since the epoch, from the last answer).

    Answers 204 when nothing changed; otherwise a <template> of rows to merge and ids to drop. The
    `X-Queue-Checked-At` header is the `since` of the next poll.
    """
    now = timezone.now()
    since = _since_param(request.GET.get("since"))
    if since is None:
        return HttpResponseBadRequest("The poll needs `since` from the page.")
    form = QueueFilterForm(request.GET)
    qs = queue.filtered(form.filters(), user=request.user, now=now)
    changes = queue.changes_since(qs, since=since, now=now)
    if changes.truncated:
        response = HttpResponse(status=204)
        response["X-Queue-Reload"] = "1"
    elif not changes.rows and not changes.removed:
        response = HttpResponse(status=204)
    else:
        response = render(
            request,
            "mentions/_queue_changes.html",
            {"mentions": changes.rows},
        )
        response["X-Queue-Removed"] = " ".join(str(pk) for pk in changes.removed)
    response["X-Queue-Checked-At"] = str(queue.to_micros(changes.checked_at))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_required
def bulk_action(request: AuthedHttpRequest) -> HttpResponse:
    """Assign, set status, set priority or tag the selected mentions (one history event each)."""
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        if request.htmx:
            return render(
                request, "mentions/_bulk_result.html", {"error": errors}, status=400
            )
        messages.error(request, errors)
        return redirect(_back(request))
    data = form.cleaned_data
    ids: list[int] = data["ids"]
    now = timezone.now()
    action = data["action"]
    if action == "claim":
        done = triage.bulk_assign(
            ids, assignee=request.user, actor=request.user, now=now
        )
        summary = "Assigned to you"
    elif action == "assign":
        done = triage.bulk_assign(
            ids, assignee=data["assignee"], actor=request.user, now=now
        )
        who = data["assignee"].get_username() if data["assignee"] else "nobody"
        summary = f"Assigned to {who}"
    elif action == "status":
        status = Mention.Status(data["status"])
        done = triage.bulk_set_status(ids, status, actor=request.user, now=now)
        summary = f"Status set to {status.label}"
    elif action == "priority":
        priority = Mention.Priority(data["priority"])
        done = triage.bulk_set_priority(ids, priority, actor=request.user, now=now)
        summary = f"Priority set to {priority.label}"
    else:
        names = tag_names(data["tags"])
        done = triage.bulk_add_tags(ids, names, actor=request.user, now=now)
        summary = "Tagged " + ", ".join(names)
    text = f"{summary}: {len(done)} mention{'s' if len(done) != 1 else ''}."
    missing = len(ids) - len(done)
    if missing:
        text += f" {missing} no longer exist."
    if request.htmx:
        response = render(request, "mentions/_bulk_result.html", {"message": text})
        return trigger_client_event(response, "queue:changed", {"ids": done})
    messages.success(request, text)
    return redirect(_back(request))


def _back(request: AuthedHttpRequest) -> str:
    nxt = request.POST.get("next", "")
    # Only our own queue URLs: never an open redirect.
    queue_url = reverse("mentions:queue")
    return nxt if nxt.startswith(queue_url) and "//" not in nxt else queue_url
