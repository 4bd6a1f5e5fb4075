"""Query-parameter parsing for the sandbox X API, with X's 400 messages for bad values."""

from __future__ import annotations

import re
from datetime import datetime

from django.http import QueryDict

from mentions.sandbox import problems

_ID_RE = re.compile(r"^[0-9]{1,19}$")
_CURSOR_PREFIX = "sbx1"
_CURSOR_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def field_list(
    params: QueryDict, name: str, allowed: set[str], *, alias: str | None = None
) -> set[str]:
    raw = params.get(name) or (params.get(alias) if alias else None) or ""
    values = {v.strip() for v in raw.split(",") if v.strip()}
    bad = sorted(values - allowed)
    if bad:
        raise problems.invalid_parameter(
            name,
            bad[0],
            f"The `{name}` query parameter value [{bad[0]}] is not one of [{','.join(sorted(allowed))}]",
        )
    return values


def int_range(params: QueryDict, name: str, low: int, high: int, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise problems.invalid_parameter(
            name,
            raw,
            f"The `{name}` query parameter value [{raw}] is not between {low} and {high}",
        )
    return int(raw)


def snowflake(params: QueryDict, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not _ID_RE.match(raw):
        raise problems.invalid_parameter(
            name,
            raw,
            f"The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$",
        )
    return int(raw)


def timestamp(params: QueryDict, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise problems.invalid_parameter(
            name,
            raw,
            f"The `{name}` query parameter value [{raw}] is not a valid RFC 3339 date-time",
        )
    return value


def encode_token(last_id: int) -> str:
    """A pagination token for "the items older than `last_id`": stable and re-usable, like X's."""
    digits = ""
    n = last_id
    while n:
        n, r = divmod(n, 36)
        digits = _CURSOR_ALPHABET[r] + digits
    return _CURSOR_PREFIX + digits.rjust(14, "0")


def decode_token(params: QueryDict, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    body = raw[len(_CURSOR_PREFIX) :]
    if (
        not raw.startswith(_CURSOR_PREFIX)
        or not body
        or any(c not in _CURSOR_ALPHABET for c in body)
    ):
        raise problems.invalid_parameter(
            name,
            raw,
            f"The `{name}` query parameter value [{raw}] is not a valid pagination token",
        )
    return int(body, 36)
