"""The three roles, as Django groups (created by migration 0002_create_roles)."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: Role) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name__in=[r.value for r in roles]).exists()  # type: ignore[union-attr]
