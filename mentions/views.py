from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def mention_queue(request: HttpRequest) -> HttpResponse:
    return HttpResponse("queue")


def mention_queue_updates(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


def mention_detail(request: HttpRequest, mention_id: int) -> HttpResponse:
    return HttpResponse("")


def stream_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


def stream_detail(request: HttpRequest, stream_id: int) -> HttpResponse:
    return HttpResponse("")
