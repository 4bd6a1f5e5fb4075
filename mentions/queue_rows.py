"""Queue rows as HTML, cached per row version: the queue renders only the rows that changed.

Django's template engine costs far more than the queries behind a 50-row page, so each row's HTML
(templates/mentions/_mention_row.html, escaped like every template) is kept in the Django cache
under a key made of everything the row shows that can change:

- the mention's `updated_at` (every triage change: status, priority, assignee, team, tags),
- the author's `updated_at` (ingest refreshes names, handles and verified badges),
- the SLA due and warning times (the SLA service moves them without a triage change),
- the age label ("5m", "3h", "2d"), so that the age in a cached row is never stale.

A page is then one narrow query for the keys, one cache round trip, and the full query plus
rendering only for the rows missing from the cache. The SLA countdown text inside a cached row is
ticked by static/js/countdown.js from its data attributes, as on a freshly rendered row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import QuerySet
from django.template.loader import get_template
from django.utils.safestring import SafeString

from mentions.models import Mention

ROW_TEMPLATE = "mentions/_mention_row.html"
ROW_CACHE_SECONDS = 24 * 3600
_STAMP_FIELDS = (
    "id",
    "sla_due_at",
    "sla_warning_at",
    "priority",
    "created_at",
    "updated_at",
    "author__updated_at",
)


@dataclass(frozen=True)
class Row:
    """One rendered queue row (`pk` so that views and tests can tell which mention it is)."""

    pk: int
    html: SafeString


def age_label(created_at: datetime, now: datetime) -> str:
    """A compact age: "now", "12m", "5h", "3d" (the cache key includes it, so it is never stale)."""
    seconds = max(0.0, (now - created_at).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _micros(dt: datetime | None) -> int:
    from mentions.queue import to_micros

    return to_micros(dt) if dt is not None else 0


def _cache_key(stamp: tuple[object, ...], now: datetime) -> str:
    pk, due, warn, _priority, created, updated, author_updated = stamp
    assert isinstance(created, datetime)
    parts = (
        pk,
        _micros(updated),  # type: ignore[arg-type]
        _micros(author_updated),  # type: ignore[arg-type]
        _micros(due),  # type: ignore[arg-type]
        _micros(warn),  # type: ignore[arg-type]
        age_label(created, now),
    )
    return "queue-row:v1:" + ":".join(str(p) for p in parts)


def stamps(qs: QuerySet[Mention]) -> list[tuple[object, ...]]:
    """The columns the row keys and the keyset need, without building model instances."""
    return list(qs.values_list(*_STAMP_FIELDS))


def render_rows(ordered: list[tuple[object, ...]], *, now: datetime) -> list[Row]:
    """Rows for `ordered` stamps, in that order: from the cache, rendering only the missing ones."""
    from mentions.queue import for_display, with_keys

    keys = [_cache_key(s, now) for s in ordered]
    cached = cache.get_many(keys) if keys else {}
    # Only our own rendered output is trusted as HTML; anything else in the cache is re-rendered.
    html = {k: v for k, v in cached.items() if isinstance(v, SafeString)}
    missing = {
        s[0]: key for s, key in zip(ordered, keys, strict=True) if key not in html
    }
    if missing:
        template = get_template(ROW_TEMPLATE)
        rendered = {}
        mentions = for_display(Mention.objects.filter(id__in=list(missing)))
        for mention in with_keys(list(mentions)):
            setattr(mention, "age_label", age_label(mention.created_at, now))  # noqa: B010
            rendered[missing[mention.pk]] = SafeString(template.render({"m": mention}))
        cache.set_many(rendered, ROW_CACHE_SECONDS)
        html.update(rendered)
    return [
        Row(pk=int(s[0]), html=html[key])  # type: ignore[call-overload]
        for s, key in zip(ordered, keys, strict=True)
        if key in html  # a row deleted between the two queries is skipped
    ]
