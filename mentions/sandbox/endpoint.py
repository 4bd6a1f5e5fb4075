"""The wrapper every sandbox X API view goes through: auth → rate limit → fault → handler → headers.

A handler receives a `Call` and returns `Reply(status, body, headers)` or raises `ApiError`; either
way the response is JSON with the rate-limit, `api-version` and `x-access-level` headers X sends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from mentions.sandbox import auth, faults, problems, ratelimit
from mentions.sandbox.auth import Caller
from mentions.sandbox.models import SandboxFault
from mentions.sandbox.problems import ApiError, JsonDict

API_VERSION = "2.166"


@dataclass(frozen=True)
class Call:
    request: HttpRequest
    caller: Caller
    now: datetime
    fault: SandboxFault | None

    @property
    def partial(self) -> bool:
        return (
            self.fault is not None
            and self.fault.kind == SandboxFault.Kind.PARTIAL_ERRORS
        )

    @property
    def user(self) -> Any:
        assert self.caller.user is not None
        return self.caller.user


@dataclass
class Reply:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: JsonDict, headers: dict[str, str]) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    for name, value in headers.items():
        response[name] = value
    return response


def api_endpoint(
    name: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    user_context: bool = False,
    scopes: frozenset[str],
) -> Callable[[Callable[..., Reply]], Callable[..., HttpResponse]]:
    """Decorate a handler `(call, **url_kwargs) -> Reply` as the sandbox endpoint `name`."""

    def decorate(handler: Callable[..., Reply]) -> Callable[..., HttpResponse]:
        @login_not_required
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            now = timezone.now()
            headers = {"api-version": API_VERSION} | ratelimit.unmetered_headers(
                name, now=now
            )
            if request.method not in methods:
                body = {
                    "title": "Method Not Allowed",
                    "type": "about:blank",
                    "status": 405,
                    "detail": "Method Not Allowed",
                }
                return json_response(405, body, headers | {"Allow": ", ".join(methods)})
            try:
                caller = auth.authenticate(request, now=now)
                headers["x-access-level"] = caller.access_level
                auth.require(caller, user_context=user_context, scopes=scopes)
                window, rate_headers = ratelimit.check(
                    name, caller.subject, is_user=caller.is_user, now=now
                )
                headers |= rate_headers
                if not window.allowed:
                    raise ApiError(429, problems.too_many_requests())
                fault = faults.claim(name)
                if fault is not None:
                    faults.raise_for(fault, now=now, rate_headers=headers)
                reply = handler(
                    Call(request=request, caller=caller, now=now, fault=fault), **kwargs
                )
                if fault is not None and fault.kind == SandboxFault.Kind.LOST_RESPONSE:
                    # The change is committed (autocommit); only the answer is late.
                    time.sleep(fault.delay_seconds)
            except ApiError as error:
                return json_response(error.status, error.body, headers | error.headers)
            return json_response(reply.status, reply.body, headers | reply.headers)

        return view

    return decorate


def json_body(request: HttpRequest) -> JsonDict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise problems.invalid_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise problems.invalid_request("The request body must be a JSON object.")
    return body
