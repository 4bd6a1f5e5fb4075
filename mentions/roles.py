"""The three roles, as Django groups (created by migration 0002_create_roles)."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


def has_role(user: User | AnonymousUser, *roles: Role) -> bool:
    if not isinstance(user, User):
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=[r.value for r in roles]).exists()


ROLE_CACHE_SECONDS = 30


def has_role_cached(user: User | AnonymousUser, *roles: Role) -> bool:
    """`has_role`, remembered for 30 s (every page's navigation asks): a role change applies within that."""
    if not isinstance(user, User):
        return False
    if user.is_superuser:
        return True
    # date_joined too: a test database may hand a deleted user's id to a new one.
    key = f"role:{user.pk}:{user.date_joined.timestamp()}:{','.join(sorted(roles))}"
    cached = cache.get(key)
    if cached is None:
        cached = has_role(user, *roles)
        cache.set(key, cached, ROLE_CACHE_SECONDS)
    return bool(cached)
