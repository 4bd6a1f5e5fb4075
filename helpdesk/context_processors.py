from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from mentions.roles import Role, has_role_cached


def earshot(request: HttpRequest) -> dict[str, Any]:
    """Flags every page needs: the sandbox badge, and whether to show the admin-only settings links.

    The role check is lazy: pages that never read it run no query for it.
    """
    return {
        "XSANDBOX_ENABLED": settings.XSANDBOX_ENABLED,
        "USER_IS_ADMIN": SimpleLazyObject(
            lambda: has_role_cached(request.user, Role.ADMIN)
        ),
    }
