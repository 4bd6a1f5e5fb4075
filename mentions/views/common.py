"""Access checks and small helpers shared by the queue and workspace views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention, Stream, Team
from mentions.roles import Role, has_role_cached

P = ParamSpec("P")
STAFF_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)
# The option lists run on every queue page; a short cache spares the database their queries
# (bench/queue). The role check is cached the same way by mentions.roles.has_role_cached.
CHOICES_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Choice:
    pk: int
    name: str


def is_staff_member(user: User) -> bool:
    return has_role_cached(user, *STAFF_ROLES)


def choices() -> dict[str, list[Choice]]:
    """Agents, teams and streams for the filter, bulk and triage option lists."""
    found: dict[str, list[Choice]] | None = cache.get("queue-choices:v1")
    if found is None:
        found = {
            "agents": [
                Choice(pk, name) for pk, name in agents().values_list("pk", "username")
            ],
            "teams": [
                Choice(pk, name) for pk, name in Team.objects.values_list("pk", "name")
            ],
            "streams": [
                Choice(pk, name)
                for pk, name in Stream.objects.order_by("name").values_list(
                    "pk", "name"
                )
            ],
        }
        cache.set("queue-choices:v1", found, CHOICES_CACHE_SECONDS)
    return found


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
        if not is_staff_member(request.user):
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
