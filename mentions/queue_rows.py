"""Queue rows as HTML, cached per row version: the queue renders only the rows that changed.

Django's template engine costs far more than the queries behind a 50-row page, so each row's HTML
(templates/mentions/_mention_row.html, escaped like every template) is kept in the Django cache
under a key made of everything the row shows that can change:

- the mention's `updated_at` (every triage change: status, priority, assignee, team, tags),
- the author's `updated_at` (ingest refreshes names, handles and verified badges),
- the SLA due and warning times (the SLA service moves them without a triage change),
- the age label ("5m", "3h", "2d"), so that the age in a cached row is never stale.

A page is then one narrow query for the keys and the full query plus rendering only for the rows
missing from the cache. Two cache levels: this process's own memory first (a bounded LRU of
LOCAL_ROWS rows), then the shared Django cache (Redis in production) for the rest, so that a page a
worker served a moment ago costs no cache round trip and no unpickling at all. The version key makes
both levels coherent: a row that changed has a new key, and an old key is never looked up again.

The SLA countdown text inside a cached row is ticked by static/js/countdown.js from its data
attributes, as on a freshly rendered row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import QuerySet
from django.template.loader import get_template
from django.utils.safestring import SafeString

from mentions.models import Mention

ROW_TEMPLATE = "mentions/_mention_row.html"
ROW_CACHE_SECONDS = 24 * 3600
# Rows kept in each process's memory (about 1.5 kB each: a few MB per worker).
LOCAL_ROWS = 5000
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


class _LocalRows:
    """A bounded, thread-safe LRU of rendered rows by version key (this process's first cache level)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: OrderedDict[tuple[object, ...], SafeString] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(
        self, keys: list[tuple[object, ...]]
    ) -> dict[tuple[object, ...], SafeString]:
        found = {}
        with self._lock:
            for key in keys:
                html = self._rows.get(key)
                if html is not None:
                    self._rows.move_to_end(key)
                    found[key] = html
        return found

    def set_many(self, rows: dict[tuple[object, ...], SafeString]) -> None:
        with self._lock:
            self._rows.update(rows)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


_local = _LocalRows(LOCAL_ROWS)


def clear_local_cache() -> None:
    """Forget this process's rows (tests, and the benchmark's cold-cache measurement)."""
    _local.clear()


def _local_key(stamp: tuple[object, ...], now: datetime) -> tuple[object, ...]:
    """The same version as `_cache_key`, as a tuple: no string building on the hot path."""
    pk, due, warn, _priority, created, updated, author_updated = stamp
    assert isinstance(created, datetime)
    return (pk, updated, author_updated, due, warn, age_label(created, now))


def stamps(qs: QuerySet[Mention]) -> list[tuple[object, ...]]:
    """The columns the row keys and the keyset need, without building model instances."""
    return list(qs.values_list(*_STAMP_FIELDS))


def render_rows(ordered: list[tuple[object, ...]], *, now: datetime) -> list[Row]:
    """Rows for `ordered` stamps, in that order: from the caches, rendering only the missing ones."""
    from mentions.queue import for_display, with_keys

    local_keys = [_local_key(s, now) for s in ordered]
    html = _local.get_many(local_keys)
    absent = [
        (s, lk) for s, lk in zip(ordered, local_keys, strict=True) if lk not in html
    ]
    if absent:
        shared_keys = {_cache_key(s, now): lk for s, lk in absent}
        cached = cache.get_many(list(shared_keys))
        # Only our own rendered output is trusted as HTML; anything else in the cache is re-rendered.
        shared = {
            shared_keys[k]: v for k, v in cached.items() if isinstance(v, SafeString)
        }
        missing = {int(s[0]): lk for s, lk in absent if lk not in shared}  # type: ignore[call-overload]
        rendered: dict[tuple[object, ...], SafeString] = {}
        if missing:
            template = get_template(ROW_TEMPLATE)
            mentions = for_display(Mention.objects.filter(id__in=list(missing)))
            for mention in with_keys(list(mentions)):
                setattr(mention, "age_label", age_label(mention.created_at, now))  # noqa: B010
                rendered[missing[mention.pk]] = SafeString(
                    template.render({"m": mention})
                )
            by_lk = {lk: k for k, lk in shared_keys.items()}
            cache.set_many(
                {by_lk[lk]: row for lk, row in rendered.items()}, ROW_CACHE_SECONDS
            )
        _local.set_many({**shared, **rendered})
        html.update(shared)
        html.update(rendered)
    return [
        Row(pk=int(s[0]), html=html[lk])  # type: ignore[call-overload]
        for s, lk in zip(ordered, local_keys, strict=True)
        if lk in html  # a row deleted between the two queries is skipped
    ]


def join(rows: list[Row]) -> SafeString:
    """The rows' HTML as one string: the page inserts it once instead of looping in the template."""
    return SafeString("".join(row.html for row in rows))
