"""The three roles, as Django groups (created by migration 0002_create_roles)."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User


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
