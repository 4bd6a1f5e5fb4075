"""Queue rows as HTML, cached per row version: the queue renders only the rows that changed.

A row is built in Python (`row_html`, with format_html: every value escaped, as a template would)
rather than by the template engine, whose per-node cost made a 50-row page of fresh rows take
~100 ms; the static/js/queue.js live merge reads its id, data-key and data-version. Each row's
HTML is also cached under a key made of everything the row shows that can change:

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
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat, timeuntil_filter
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime

from mentions.models import Mention

TEXT_CHARS = 200  # the post text shown in a row, truncated with an ellipsis
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
            detail_prefix = reverse("mentions:detail", args=[0]).removesuffix("0/")
            mentions = for_display(Mention.objects.filter(id__in=list(missing)))
            for mention in with_keys(list(mentions)):
                rendered[missing[mention.pk]] = row_html(
                    mention, now=now, detail_prefix=detail_prefix
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


def _iso(value: datetime) -> str:
    """`{{ value|date:"c" }}` (ISO 8601 in the current time zone), without the filter's overhead."""
    return localtime(value).isoformat()


def _minute(value: datetime) -> str:
    """`{{ value|date:"Y-m-d H:i" }}`."""
    return str(date_filter(localtime(value), "Y-m-d H:i"))


def countdown_html(mention: Mention) -> SafeString:
    """The SLA countdown (the markup of templates/sla/_countdown.html; a test keeps them equal)."""
    due = mention.sla_due_at
    if not due:
        return SafeString("")
    warn = mention.sla_warning_at
    return format_html(
        '<span class="sla-countdown" data-sla-due="{}"{} title="{}" role="timer">{}</span>',
        _iso(due),
        format_html(' data-sla-warn="{}"', _iso(warn)) if warn else "",
        mention.sla_hint,
        timeuntil_filter(due),
    )


def row_html(mention: Mention, *, now: datetime, detail_prefix: str) -> SafeString:
    """One queue row. `mention` comes from `for_display` (its `shown_streams` and `shown_tags`) and
    `with_keys`; `detail_prefix` is the
    workspace URL without the id ("/mentions/"). Every value goes through format_html's escaping."""
    m = mention
    author = m.author
    url = f"{detail_prefix}{m.pk}/"
    label = m.sentiment_label()
    cells = [
        format_html(
            '<td class="select"><input type="checkbox" name="ids" value="{}" form="bulk-form"'
            ' aria-label="Select the mention by @{}" tabindex="-1"></td>',
            m.pk,
            author.handle,
        ),
        format_html(
            '<td class="author"><strong>{}</strong>{}<br><span class="handle">@{}</span></td>',
            author.name or author.handle,
            mark_safe(' <span class="badge verified" title="Verified">✓</span>')
            if author.verified
            else "",
            author.handle,
        ),
        format_html(
            '<td class="text"><a href="{}" class="open">{}</a>{}</td>',
            url,
            Truncator(m.text).chars(TEXT_CHARS),
            mark_safe(' <span class="badge">DM</span>')
            if m.kind == Mention.Kind.DM
            else "",
        ),
        format_html(
            '<td class="age muted"><time datetime="{}" title="{} UTC">{}</time></td>',
            _iso(m.created_at),
            _minute(m.created_at),
            age_label(m.created_at, now),
        ),
        format_html(
            '<td class="streams">{}</td>',
            format_html_join(
                "",
                '<span class="badge">{}</span> ',
                ((s.name,) for s in getattr(m, "shown_streams")),  # noqa: B009,
            ),
        ),
        format_html(
            '<td><span class="badge status-{}">{}</span></td>',
            m.status,
            m.get_status_display(),
        ),
        format_html(
            '<td><span class="badge priority-{}">{}</span></td>',
            m.priority,
            m.get_priority_display(),
        ),
        format_html(
            '<td class="assignee">{}{}</td>',
            m.assignee.get_username()
            if m.assignee
            else mark_safe('<span class="muted">—</span>'),
            format_html('<br><span class="muted">{}</span>', m.team.name)
            if m.team
            else "",
        ),
        format_html(
            "<td>{}</td>",
            format_html(
                '<span class="sentiment sentiment-{}" title="VADER compound {}">{}</span>',
                label,
                floatformat(m.sentiment, 2),
                label,
            )
            if label
            else "",
        ),
        format_html(
            '<td class="tags">{}</td>',
            format_html_join(
                "",
                '<span class="badge tag">{}</span> ',
                ((t.name,) for t in getattr(m, "shown_tags")),  # noqa: B009,
            ),
        ),
        format_html('<td class="sla">{}</td>', countdown_html(m)),
    ]
    opening = format_html(
        '<tr id="mention-{}" class="mention-row status-{}" data-id="{}" data-key="{}"'
        ' data-version="{}" data-url="{}">',
        m.pk,
        m.status,
        m.pk,
        getattr(m, "queue_key"),  # noqa: B009 (set by with_keys, not a model field)
        getattr(m, "version"),  # noqa: B009
        url,
    )
    inner = "\n  ".join(cells)
    return SafeString(f"{opening}\n  {inner}\n</tr>\n")
