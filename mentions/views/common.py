"""Access checks and small helpers shared by the queue and workspace views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention
from mentions.roles import Role, has_role

P = ParamSpec("P")
STAFF_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)


def staff_required(
    view: Callable[Concatenate[AuthedHttpRequest, P], HttpResponse],
) -> Callable[Concatenate[AuthedHttpRequest, P], HttpResponse]:
    """Agents, managers and admins only: any other logged-in account gets 403.

    Anonymous users never get here: LoginRequiredMiddleware sends them to the login page first.
    """

    @wraps(view)
    def wrapper(
        request: AuthedHttpRequest, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        if not has_role(request.user, *STAFF_ROLES):
            raise PermissionDenied("Only agents, managers and admins work the queue.")
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]  # functools._Wrapped is the same callable


def get_mention(mention_id: int) -> Mention:
    """The mention with what every workspace fragment shows, or 404."""
    return get_object_or_404(
        Mention.objects.select_related(
            "author", "account", "thread", "assignee", "team"
        ),
        pk=mention_id,
    )


def agents() -> QuerySet[User]:
    """Everyone a mention can be assigned to."""
    return (
        User.objects.filter(is_active=True)
        .filter(groups__name__in=[r.value for r in STAFF_ROLES])
        .distinct()
        .order_by("username")
    )


def static_exists(path: str) -> bool:
    """Whether another helper's static file is there yet (a missing one breaks the manifest storage)."""
    from django.contrib.staticfiles import finders

    return bool(finders.find(path))
