"""The queue, the mention page and the stream status pages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention, Stream

QUEUE_PAGE_SIZE = 50


def _queue_rows(status: str) -> QuerySet[Mention]:
    rows = (
        Mention.objects.select_related("author")
        .prefetch_related("streams")
        .order_by("-created_at", "-id")
    )
    if status in Mention.Status.values:
        rows = rows.filter(status=status)
    return rows


def _queue_context(request: AuthedHttpRequest) -> dict[str, object]:
    status = request.GET.get("status", "")
    mentions = list(_queue_rows(status)[:QUEUE_PAGE_SIZE])
    latest_id = (
        Mention.objects.order_by("-id").values_list("id", flat=True).first() or 0
    )
    return {
        "mentions": mentions,
        "status": status,
        "statuses": Mention.Status.choices,
        "latest_id": latest_id,
    }


@require_GET
def mention_queue(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "mentions/mention_list.html", _queue_context(request))


@require_GET
def mention_queue_updates(request: AuthedHttpRequest) -> HttpResponse:
    """The live queue's poll: 204 when nothing arrived since `after`, else the refreshed table."""
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    if not Mention.objects.filter(id__gt=after).exists():
        return HttpResponse(status=204)
    return render(
        request, "mentions/mention_list.html#mention-table", _queue_context(request)
    )


@require_GET
def mention_detail(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_object_or_404(
        Mention.objects.select_related("author", "account", "thread", "assignee"),
        pk=mention_id,
    )
    conversation = (
        Mention.objects.filter(
            conversation_id=mention.conversation_id, account_id=mention.account_id
        )
        .select_related("author")
        .order_by("created_at", "id")
        if mention.conversation_id
        else Mention.objects.filter(pk=mention.pk)
    )
    context = {
        "mention": mention,
        "conversation": list(conversation[:200]),
        "streams": list(mention.streams.all()),
        "author_mentions": mention.author.mentions.count(),
    }
    return render(request, "mentions/mention_detail.html", context)


@require_GET
def stream_list(request: AuthedHttpRequest) -> HttpResponse:
    streams = Stream.objects.select_related("account", "team").order_by(
        "account__handle", "kind", "name"
    )
    template = (
        "mentions/stream_list.html#stream-table"
        if request.htmx
        else "mentions/stream_list.html"
    )
    return render(request, template, {"streams": list(streams)})


@require_GET
def stream_detail(request: AuthedHttpRequest, stream_id: int) -> HttpResponse:
    stream = get_object_or_404(
        Stream.objects.select_related("account", "team"), pk=stream_id
    )
    template = (
        "mentions/stream_detail.html#stream-status"
        if request.htmx
        else "mentions/stream_detail.html"
    )
    return render(
        request, template, {"stream": stream, "mention_count": stream.mentions.count()}
    )
