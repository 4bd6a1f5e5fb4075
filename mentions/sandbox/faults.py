"""Fault injection: claim the next injected failure for an endpoint, atomically across processes.

A fault first lets `skip` normal calls through, then fails the next `remaining` calls. Both counters
are decremented with conditional UPDATEs, so N concurrent callers consume exactly `count` faults.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db.models import F, Q

from mentions.sandbox import problems
from mentions.sandbox.models import SandboxFault
from mentions.sandbox.problems import ApiError


def claim(endpoint: str) -> SandboxFault | None:
    """The fault this call must suffer, or None for a normal call."""
    for fault in SandboxFault.objects.filter(
        Q(endpoint=endpoint) | Q(endpoint="*"), remaining__gt=0
    ):
        if SandboxFault.objects.filter(pk=fault.pk, skip__gt=0).update(
            skip=F("skip") - 1
        ):
            return None
        if SandboxFault.objects.filter(pk=fault.pk, skip=0, remaining__gt=0).update(
            remaining=F("remaining") - 1
        ):
            return fault
    return None


def raise_for(
    fault: SandboxFault, *, now: datetime, rate_headers: dict[str, str]
) -> None:
    """Raise the ApiError a fault stands for; return for `slow` (after sleeping) and `partial_errors`."""
    kind = fault.kind
    if kind == SandboxFault.Kind.SLOW:
        time.sleep(fault.delay_seconds)
        return
    if kind in (SandboxFault.Kind.PARTIAL_ERRORS, SandboxFault.Kind.LOST_RESPONSE):
        return
    if kind == SandboxFault.Kind.RATE_LIMIT:
        reset = int(now.timestamp()) + fault.reset_in_seconds
        headers = rate_headers | {
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        }
        raise ApiError(429, problems.too_many_requests(), headers)
    if kind == SandboxFault.Kind.USAGE_CAP:
        raise ApiError(429, problems.usage_capped())
    if kind == SandboxFault.Kind.CREDITS:
        raise ApiError(402, problems.credits_depleted())
    if kind == SandboxFault.Kind.SERVER_ERROR:
        # Alternate 503 and 500 so clients see both.
        status = 503 if fault.remaining % 2 == 0 else 500
        raise ApiError(status, problems.server_error(status))
    if kind == SandboxFault.Kind.UNAUTHORIZED:
        raise problems.unauthorized()
    raise AssertionError(kind)
