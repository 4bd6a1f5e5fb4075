"""System checks that guard deployment invariants (stable ids: helpdesk.E00x / W00x)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_field_encryption_keys(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for index, key in enumerate(settings.FIELD_ENCRYPTION_KEYS):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEY entry {index + 1} is not a valid Fernet key.",
                    hint="Generate one with cryptography.fernet.Fernet.generate_key().",
                    id="helpdesk.E001",
                )
            )
    return errors


@register()
def check_sandbox_in_production(**kwargs: Any) -> list[CheckMessage]:
    if settings.XSANDBOX_ENABLED and not settings.DEBUG:
        return [
            Warning(
                "The sandbox X API is enabled outside DEBUG.",
                hint="Set XSANDBOX_ENABLED=0 in production; the sandbox is for demos and tests.",
                id="helpdesk.W001",
            )
        ]
    return []


@register()
def check_time_zone(**kwargs: Any) -> list[CheckMessage]:
    if settings.TIME_ZONE != "UTC" or not settings.USE_TZ:
        return [
            Error(
                "Earshot stores every time in UTC: TIME_ZONE must be 'UTC' and USE_TZ True.",
                id="helpdesk.E002",
            )
        ]
    return []
