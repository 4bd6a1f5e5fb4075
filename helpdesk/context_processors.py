from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def earshot(request: HttpRequest) -> dict[str, Any]:
    """Flags every page needs: whether the sandbox X API is in use (shown as a badge)."""
    return {"XSANDBOX_ENABLED": settings.XSANDBOX_ENABLED}
