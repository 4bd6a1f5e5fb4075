"""Who else is on a mention: agents viewing or typing, from heartbeats in the Django cache (Redis).

Each agent has one key per mention, `presence:<mention>:<user>`, holding when they last viewed and
last typed, with a TTL of PRESENCE_TTL_SECONDS; a second key per mention lists who has been there,
so that a read is two cache round trips whatever the number of agents. The workspace sends a
"viewing" heartbeat every few seconds and "typing" while the agent types in any of its text areas
(the composer's too). Nothing is written to the database: presence is ephemeral by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache

State = Literal["viewing", "typing"]
# "Typing" lasts this long after the last keystroke heartbeat; the browser sends one at most every 2 s.
TYPING_SECONDS = 6.0


class _Beat(TypedDict):
    name: str
    viewing_at: float
    typing_at: float


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    state: State


def _ttl() -> int:
    return int(settings.PRESENCE_TTL_SECONDS)


def _key(mention_id: int, user_id: int) -> str:
    return f"presence:{mention_id}:{user_id}"


def _members_key(mention_id: int) -> str:
    return f"presence:{mention_id}:members"


def _display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def heartbeat(mention_id: int, user: User, state: State, *, now: datetime) -> None:
    """Record that `user` is viewing (or typing on) the mention at `now`."""
    ts = now.timestamp()
    key = _key(mention_id, user.pk)
    beat: _Beat | None = cache.get(key)
    if beat is None:
        beat = {"name": _display_name(user), "viewing_at": ts, "typing_at": 0.0}
    beat["viewing_at"] = ts
    if state == "typing":
        beat["typing_at"] = ts
    cache.set(key, beat, _ttl())
    members: list[int] = cache.get(_members_key(mention_id)) or []
    if user.pk not in members:
        # A lost update here (two agents arriving at once) heals on the next heartbeat.
        cache.set(_members_key(mention_id), [*members, user.pk], _ttl() * 4)


def leave(mention_id: int, user: User) -> None:
    cache.delete(_key(mention_id, user.pk))


def others(mention_id: int, user: User, *, now: datetime) -> list[Presence]:
    """The other agents on the mention now, typing ones first, then by name."""
    members: list[int] = cache.get(_members_key(mention_id)) or []
    ids = [pk for pk in members if pk != user.pk]
    if not ids:
        return []
    beats: dict[str, _Beat] = cache.get_many([_key(mention_id, pk) for pk in ids])
    ts = now.timestamp()
    found = []
    for pk in ids:
        beat = beats.get(_key(mention_id, pk))
        if beat is None or ts - beat["viewing_at"] > _ttl():
            continue
        state: State = (
            "typing" if ts - beat["typing_at"] <= TYPING_SECONDS else "viewing"
        )
        found.append(Presence(user_id=pk, name=beat["name"], state=state))
    return sorted(found, key=lambda p: (p.state != "typing", p.name.lower()))
