"""Per-endpoint rate limits with X's headers, counted in the database so every process shares them.

Defaults are xapi/README.md §3.1 "current model": windows are per user for user tokens and per app
for app-only tokens. A window starts at a bucket's first call (like X's, its reset is that call plus
the window). `services.set_rate_limit` overrides an endpoint's primary limit at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F

from mentions.sandbox.models import SandboxRateCounter, SandboxRateLimit

ENDPOINTS = (
    "search",
    "mentions",
    "dm_events",
    "create_post",
    "create_dm",
    "users_me",
    "oauth2_token",
)
MINUTES_15 = 15 * 60
HOURS_24 = 24 * 3600

# endpoint -> (app limit or None, user limit, window seconds)
DEFAULT_LIMITS: dict[str, tuple[int | None, int, int]] = {
    "search": (450, 300, MINUTES_15),
    "mentions": (450, 300, MINUTES_15),
    "dm_events": (None, 15, MINUTES_15),
    "create_post": (None, 100, MINUTES_15),
    "create_dm": (None, 15, MINUTES_15),
    "users_me": (None, 75, MINUTES_15),
}
# POST /2/tweets also reports 24-hour quotas (§2.7): per user and per app.
POST_USER_24H = 2400
POST_APP_24H = 10000


@dataclass(frozen=True)
class Window:
    limit: int
    remaining: int
    reset: int  # Unix seconds
    allowed: bool


def limit_for(endpoint: str, *, is_user: bool) -> tuple[int, int]:
    override = SandboxRateLimit.objects.filter(endpoint=endpoint).first()
    if override is not None:
        return override.limit, override.window_seconds
    app_limit, user_limit, window = DEFAULT_LIMITS.get(
        endpoint, (1000, 1000, MINUTES_15)
    )
    if not is_user and app_limit is not None:
        return app_limit, window
    return user_limit, window


def hit(bucket: str, limit: int, window_seconds: int, *, now: datetime) -> Window:
    """Count one call in `bucket`; allowed=False (and nothing counted) when the window is full.

    Both steps are conditional UPDATEs, so concurrent callers in several processes never overshoot.
    """
    ends = now + timedelta(seconds=window_seconds)
    counter, _ = SandboxRateCounter.objects.get_or_create(
        bucket=bucket, defaults={"window_ends_at": ends}
    )
    SandboxRateCounter.objects.filter(pk=counter.pk, window_ends_at__lte=now).update(
        count=0, window_ends_at=ends
    )
    allowed = (
        SandboxRateCounter.objects.filter(pk=counter.pk, count__lt=limit).update(
            count=F("count") + 1
        )
        == 1
    )
    counter.refresh_from_db()
    return Window(
        limit=limit,
        remaining=max(limit - counter.count, 0),
        reset=int(counter.window_ends_at.timestamp()),
        allowed=allowed,
    )


def headers_for(window: Window) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(window.limit),
        "x-rate-limit-remaining": str(window.remaining),
        "x-rate-limit-reset": str(window.reset),
    }


def check(
    endpoint: str, subject: str, *, is_user: bool, now: datetime
) -> tuple[Window, dict[str, str]]:
    """Count a call of `endpoint` by `subject`; return its window and every header to send."""
    limit, window_seconds = limit_for(endpoint, is_user=is_user)
    window = hit(f"{endpoint}|{subject}", limit, window_seconds, now=now)
    headers = headers_for(window)
    if endpoint == "create_post" and window.allowed:
        for prefix, bucket, limit24 in (
            ("x-user-limit-24hour", f"create_post24|{subject}", POST_USER_24H),
            ("x-app-limit-24hour", "create_post24|app", POST_APP_24H),
        ):
            day = hit(bucket, limit24, HOURS_24, now=now)
            headers |= {
                f"{prefix}-limit": str(day.limit),
                f"{prefix}-remaining": str(day.remaining),
            }
            headers[f"{prefix}-reset"] = str(day.reset)
    return window, headers


def unmetered_headers(endpoint: str, *, now: datetime) -> dict[str, str]:
    """Headers for a call we could not attribute (failed auth): a full window."""
    limit, window_seconds = limit_for(endpoint, is_user=False)
    return headers_for(
        Window(limit, limit, int(now.timestamp()) + window_seconds, allowed=True)
    )
