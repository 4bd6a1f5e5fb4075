"""The stream status pages: which searches and timelines we poll, and how each is doing."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Stream
from mentions.views.common import staff_required


@require_GET
@staff_required
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
@staff_required
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
