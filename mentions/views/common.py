"""Access checks and small helpers shared by the queue and workspace views."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import get_template
from django.utils.safestring import SafeString

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention, Stream, Team
from mentions.roles import Role, has_role_cached

P = ParamSpec("P")
T = TypeVar("T")
STAFF_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)
# The option lists run on every queue page; a short cache spares the database their queries
# (bench/queue). The role check is cached the same way by mentions.roles.has_role_cached (30 s).
# Both are also remembered in each process for LOCAL_SECONDS, which spares every page a cache round
# trip: a new agent, team or stream appears within CHOICES_CACHE_SECONDS + LOCAL_SECONDS (a minute),
# a removed role applies within 30 + LOCAL_SECONDS.
CHOICES_CACHE_SECONDS = 50
LOCAL_SECONDS = 10.0


@dataclass(frozen=True)
class Choice:
    pk: int
    name: str


class LocalMemo:
    """Values remembered in this process for `seconds` (in front of the shared cache); bounded."""

    def __init__(self, seconds: float, size: int = 4096) -> None:
        self.seconds = seconds
        self.size = size
        self._items: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[return-value]  # stored by compute() for this key
        value = compute()
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (now + self.seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


memo = LocalMemo(LOCAL_SECONDS)


def is_staff_member(user: User) -> bool:
    key = ("staff", user.pk, user.date_joined, user.is_superuser)
    return memo.get(key, lambda: has_role_cached(user, *STAFF_ROLES))


def choices() -> dict[str, list[Choice]]:
    """Agents, teams and streams for the filter, bulk and triage option lists."""
    return memo.get("choices", _shared_choices)


def _shared_choices() -> dict[str, list[Choice]]:
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


class Fragments:
    """Rendered template partials kept in this process's memory, keyed by everything they show.

    For page chrome that depends only on its inputs (a saved view, the filters in the URL, the
    option lists): the key is those inputs themselves, so a cached fragment is never stale, and an
    input that changes (a new agent in `choices()`) simply makes a new key. Bounded (least recently
    used out). Never for fragments with user data or a CSRF token.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, SafeString] = OrderedDict()
        self._lock = threading.Lock()

    def render(
        self, template: str, key: Hashable, context: Callable[[], dict[str, object]]
    ) -> SafeString:
        """`template` (may name a partial, "page.html#name") rendered with `context()`, or the cached copy."""
        full_key = (template, key)
        with self._lock:
            html = self._items.get(full_key)
            if html is not None:
                self._items.move_to_end(full_key)
                return html
        html = SafeString(get_template(template).render(context()))
        with self._lock:
            self._items[full_key] = html
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


fragments = Fragments()


def choices_key(found: dict[str, list[Choice]]) -> tuple[tuple[Choice, ...], ...]:
    """The option lists as a hashable key for `fragments`."""
    return tuple(tuple(found[name]) for name in sorted(found))


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


# Never shown by a page: the raw X payload, and the account's tokens (which would be decrypted).
UNSHOWN_FIELDS = (
    "raw",
    "account__access_token",
    "account__refresh_token",
    "account__app_bearer_token",
)


def get_mention(mention_id: int) -> Mention:
    """The mention with what every workspace fragment shows, or 404."""
    return get_object_or_404(
        Mention.objects.select_related(
            "author", "account", "thread", "assignee", "team"
        ).defer(*UNSHOWN_FIELDS),
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
