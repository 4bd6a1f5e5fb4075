"""The queue: the page, its live poll, and bulk actions on selected rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.forms.utils import ErrorDict
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from helpdesk.lib.http import AuthedHttpRequest
from mentions import queue, queue_rows, triage
from mentions.forms import (
    SENTIMENT_CHOICES,
    SLA_CHOICES,
    VIEW_CHOICES,
    BulkActionForm,
    QueueFilterForm,
    tag_names,
)
from mentions.models import Mention
from mentions.views.common import (
    LocalMemo,
    choices,
    choices_key,
    fragments,
    staff_required,
)


def _since_param(raw: str | None) -> datetime | None:
    if not raw or not raw.isdigit() or len(raw) > 17:
        return None
    return queue.from_micros(int(raw))


def _filter_query(request: AuthedHttpRequest, **extra: str) -> str:
    """The current filters as a query string (without the page cursor), plus `extra`."""
    pairs = [(k, v) for k, vs in request.GET.lists() for v in vs if k != "after"]
    pairs += list(extra.items())
    return urlencode(pairs)


PAGE_TEMPLATE = "mentions/mention_list.html"
# Parsed filters depend only on the query string: remembered per process, like the page chrome.
_parsed = LocalMemo(seconds=3600, size=1024)


@dataclass(frozen=True)
class ParsedFilters:
    """The valid filters of a query string and the messages for the invalid ones (read-only)."""

    filters: dict[str, Any]
    errors: ErrorDict


def _parse_filters(request: AuthedHttpRequest) -> ParsedFilters:
    def parse() -> ParsedFilters:
        form = QueueFilterForm(request.GET)
        return ParsedFilters(form.filters(), form.errors)

    key = tuple((k, tuple(vs)) for k, vs in request.GET.lists() if k != "after")
    return _parsed.get(key, parse)


def _chrome(
    request: AuthedHttpRequest, filters: dict[str, Any], queue_url: str
) -> dict[str, SafeString]:
    """The page around the rows, from the per-process fragment cache (mentions.views.common)."""
    options = choices()
    options_key = choices_key(options)
    view = filters.get("view", "")
    filter_context = {
        "view": view,
        "filters": filters,
        "statuses": Mention.Status.choices,
        "priorities": Mention.Priority.choices,
        "sentiments": SENTIMENT_CHOICES,
        "sla_choices": SLA_CHOICES,
        "kinds": Mention.Kind.choices,
        **options,
    }
    return {
        "views_nav": fragments.render(
            f"{PAGE_TEMPLATE}#views-nav",
            (view, queue_url),
            lambda: {"views": VIEW_CHOICES, "view": view, "queue_url": queue_url},
        ),
        # The filters as the URL gives them (without the page cursor), and the option lists.
        "filter_fields": fragments.render(
            f"{PAGE_TEMPLATE}#filter-fields",
            (_filter_query(request), options_key),
            lambda: filter_context,
        ),
        "bulk_fields": fragments.render(
            f"{PAGE_TEMPLATE}#bulk-fields", options_key, lambda: filter_context
        ),
        "cheatsheet": fragments.render(
            "mentions/_cheatsheet.html", "queue", lambda: {"workspace": False}
        ),
    }


def _queue_context(request: AuthedHttpRequest, now: datetime) -> dict[str, Any]:
    form = _parse_filters(request)
    filters = form.filters
    after_raw = request.GET.get("after", "")
    after = queue.Key.decode(after_raw) if after_raw else None
    qs = queue.filtered(filters, user=request.user, now=now)
    page = queue.page(qs, after=after, now=now)
    queue_url = reverse("mentions:queue")
    more_url = (
        f"{queue_url}?{_filter_query(request, after=page.next_key.encode())}"
        if page.next_key
        else ""
    )
    return {
        "form": form,
        "filters": filters,
        "mentions": page.rows,
        "rows_html": queue_rows.join(page.rows),
        "queue_url": queue_url,
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
        return render(request, f"{PAGE_TEMPLATE}#mention-table", context)
    context["chrome"] = _chrome(request, context["filters"], context["queue_url"])
    context["bulk_url"] = reverse("mentions:bulk")
    return render(request, PAGE_TEMPLATE, context)


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
    qs = queue.filtered(_parse_filters(request).filters, user=request.user, now=now)
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
            {"mentions": changes.rows, "rows_html": queue_rows.join(changes.rows)},
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
