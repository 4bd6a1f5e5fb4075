"""Canned responses: a tiny, safe placeholder substitution.

Only the admin-written canned body is scanned for placeholders, once, with a regular expression over an
allow-list of names. The values (a customer's handle or name, say) are inserted verbatim and never scanned
again, and nothing is ever passed to Django's template engine: a customer whose name is
`{{ agent.first_name }}` or `{% debug %}` stays literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser, User

from mentions.models import Mention
from responders.models import CannedResponse, GuardSettings

PLACEHOLDERS = (
    "author.handle",
    "author.name",
    "agent.first_name",
    "agent.name",
    "brand.handle",
    "brand.name",
    "brand.email",
    "brand.phone",
    "contact.email",
    "contact.phone",
)
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def render_placeholders(body: str, values: Mapping[str, str]) -> str:
    """Replace `{{ name }}` for allowed names present in `values`; anything else stays as written."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PLACEHOLDERS and name in values:
            return values[name]
        return match.group(0)

    return _PLACEHOLDER_RE.sub(substitute, body)


def placeholder_values(
    mention: Mention,
    agent: AbstractBaseUser | None,
    *,
    guard: GuardSettings,
    contact_email: str = "",
    contact_phone: str = "",
) -> dict[str, str]:
    first_name = agent.first_name if isinstance(agent, User) else ""
    full_name = agent.get_full_name() if isinstance(agent, User) else ""
    account = mention.account
    return {
        "author.handle": f"@{mention.author.handle}",
        "author.name": mention.author.name or f"@{mention.author.handle}",
        "agent.first_name": first_name or (agent.get_username() if agent else ""),
        "agent.name": full_name
        or first_name
        or (agent.get_username() if agent else ""),
        "brand.handle": f"@{account.handle}",
        "brand.name": account.display_name or account.handle,
        "brand.email": guard.support_email,
        "brand.phone": guard.support_phone,
        "contact.email": contact_email,
        "contact.phone": contact_phone,
    }


def responses_for(channel: str, *, purpose: str | None = None) -> list[CannedResponse]:
    qs = CannedResponse.objects.filter(is_active=True, channel__in=[channel, "any"])
    if purpose is not None:
        qs = qs.filter(purpose=purpose)
    return list(qs)
