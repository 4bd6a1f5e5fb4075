from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from mentions.roles import Role, has_role_cached
from mentions.views.common import memo


def earshot(request: HttpRequest) -> dict[str, Any]:
    """Flags every page needs: the sandbox badge, and whether to show the admin-only settings links.

    The role check is lazy: pages that never read it run no query for it. It is remembered in the
    process for a few seconds in front of the shared cache (mentions.views.common.memo), so most
    pages make no cache round trip for it.
    """
    return {
        "XSANDBOX_ENABLED": settings.XSANDBOX_ENABLED,
        "USER_IS_ADMIN": SimpleLazyObject(lambda: _is_admin(request.user)),
    }


def _is_admin(user: User | AnonymousUser) -> bool:
    if not isinstance(user, User):
        return False
    key = ("admin", user.pk, user.date_joined, user.is_superuser)
    return memo.get(key, lambda: has_role_cached(user, Role.ADMIN))
