"""Which SLA policy a mention gets: pure matching over plain values (no queries).

Policies are checked in order (`position`, then id); the first active non-default policy whose
conditions all hold wins; otherwise the default policy applies; with no default, no clocks start.

`SlaPolicy.conditions` (JSON) holds any of these keys; a missing or empty key means "any":
- "streams": [stream id, ...]       the mention matched at least one of them
- "accounts": [account id, ...]     it came in for one of these brand accounts
- "kinds": ["post", "dm"]
- "priorities": [1, 2, 3, 4]        Mention.Priority values
- "min_followers": N                the author has at least N followers
- "verified": true | false          the author is (not) verified
- "languages": ["en", "de"]         X's language code
- "tags": ["billing", ...]          the mention carries at least one of them (tags added later count when
                                    the policies are re-applied)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar


class Conditions(TypedDict, total=False):
    streams: list[int]
    accounts: list[int]
    kinds: list[str]
    priorities: list[int]
    min_followers: int
    verified: bool
    languages: list[str]
    tags: list[str]


CONDITION_KEYS = frozenset(Conditions.__annotations__)


@dataclass(frozen=True)
class MentionFacts:
    """What policy conditions look at, loaded once per mention."""

    stream_ids: frozenset[int]
    account_id: int
    kind: str
    priority: int
    followers: int
    verified: bool
    lang: str
    tags: frozenset[str] = frozenset()


class PolicyLike(Protocol):
    @property
    def conditions(self) -> Any: ...
    @property
    def is_default(self) -> bool: ...
    @property
    def is_active(self) -> bool: ...


P = TypeVar("P", bound=PolicyLike)


def matches(conditions: Mapping[str, Any], facts: MentionFacts) -> bool:
    """True when every condition that is set holds for the mention."""
    if (streams := conditions.get("streams")) and not facts.stream_ids & set(streams):
        return False
    if (accounts := conditions.get("accounts")) and facts.account_id not in accounts:
        return False
    if (kinds := conditions.get("kinds")) and facts.kind not in kinds:
        return False
    if (prios := conditions.get("priorities")) and facts.priority not in prios:
        return False
    min_followers = conditions.get("min_followers")
    if min_followers is not None and facts.followers < int(min_followers):
        return False
    verified = conditions.get("verified")
    if verified is not None and facts.verified != bool(verified):
        return False
    languages = conditions.get("languages")
    if languages and facts.lang.lower() not in {lang.lower() for lang in languages}:
        return False
    tags = conditions.get("tags")
    return not (tags and not facts.tags & {t.lower() for t in tags})


def pick_policy(policies: Sequence[P], facts: MentionFacts) -> P | None:
    """The first matching active policy in the given order, else the active default, else None."""
    default = None
    for policy in policies:
        if not policy.is_active:
            continue
        if policy.is_default:
            default = default or policy
            continue
        if matches(policy.conditions or {}, facts):
            return policy
    return default


def uses_tags(policies: Iterable[PolicyLike]) -> bool:
    """Whether any active policy looks at tags (only then does matching need to load them)."""
    return any(p.is_active and (p.conditions or {}).get("tags") for p in policies)


def describe(
    conditions: Mapping[str, Any], names: Mapping[str, Mapping[int, str]]
) -> str:
    """A one-line summary for the policy list, e.g. "kind DM · priority 3, 4 · ≥ 10000 followers"."""
    parts = []
    if streams := conditions.get("streams"):
        parts.append(
            "stream " + ", ".join(names["streams"].get(s, f"#{s}") for s in streams)
        )
    if accounts := conditions.get("accounts"):
        parts.append(
            "account " + ", ".join(names["accounts"].get(a, f"#{a}") for a in accounts)
        )
    if kinds := conditions.get("kinds"):
        parts.append("kind " + ", ".join(kinds))
    if prios := conditions.get("priorities"):
        parts.append("priority " + ", ".join(str(p) for p in prios))
    if conditions.get("min_followers") is not None:
        parts.append(f"≥ {conditions['min_followers']} followers")
    if conditions.get("verified") is not None:
        parts.append("verified" if conditions["verified"] else "not verified")
    if languages := conditions.get("languages"):
        parts.append("language " + ", ".join(languages))
    if tags := conditions.get("tags"):
        parts.append("tag " + ", ".join(tags))
    return " · ".join(parts) or "every mention"
