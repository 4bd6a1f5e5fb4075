"""The queue's query: saved views and filters, "most urgent first" order, keyset pages, live changes.

- Order: SLA due time (no running clock last), then priority (highest first), then the oldest post,
  then id. The order is spelled as all-ascending expressions (mentions.models.URGENCY_*) that three
  indexes cover, so a page after a cursor is `(due, -priority, created_at, id) > (...)`: one index
  range read, equally fast on page 1 and page 10,000, and with 1,000,000 rows in the table.
  * the default view and My mentions / Unassigned / Breaching soon use the partial index on open work
    (mentions_mention_open_urgency);
  * a single status (Waiting on customer, Monitoring) uses mentions_mention_status_due;
  * All uses mentions_mention_urgency.
- Live: the page remembers when it was rendered; the poll asks for rows whose `updated_at` moved since
  then (mentions_mention_updated), minus an overlap that covers transactions still committing when the
  last poll ran. The browser skips rows whose version it already shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Exists,
    Expression,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.sql.compiler import SQLCompiler

from mentions.models import (
    NO_DUE_AT,
    OPEN_STATUSES,
    URGENCY_DUE,
    URGENCY_PRIORITY,
    Mention,
    MentionStream,
    Stream,
    Tag,
)
from mentions.queue_rows import Row, render_rows, stamps
from mentions.sla.models import SlaClock

PAGE_SIZE = 50
# "Breaching soon": the SLA is due within this window (or already past due).
BREACHING_WINDOW = timedelta(hours=1)
# The live poll re-reads this much before its cursor: a transaction that started before the last poll
# but committed after it carries an older updated_at (ingest's rows get the database's transaction time).
LIVE_OVERLAP = timedelta(seconds=15)
# More changes than this in one poll (a large bulk action) and the browser reloads the table instead.
LIVE_MAX_ROWS = 1000
SENTIMENT_EDGE = 0.05  # VADER's customary neutral band

ORDER = (URGENCY_DUE.asc(), URGENCY_PRIORITY.asc(), "created_at", "id")


@dataclass(frozen=True)
class Key:
    """A row's position in the urgency order (the keyset cursor `after`)."""

    due: datetime
    neg_priority: int
    created_at: datetime
    id: int

    def encode(self) -> str:
        return ".".join(
            str(v)
            for v in (
                to_micros(self.due),
                self.neg_priority,
                to_micros(self.created_at),
                self.id,
            )
        )

    @classmethod
    def decode(cls, raw: str) -> Key:
        """Parse `after`; raises ValueError with a readable message on anything malformed."""
        if not re.fullmatch(r"-?\d{1,20}\.-?\d{1,2}\.-?\d{1,20}\.\d{1,19}", raw):
            raise ValueError("The page cursor `after` is malformed.")
        due, prio, created, pk = (int(p) for p in raw.split("."))
        try:
            return cls(from_micros(due), prio, from_micros(created), pk)
        except (OverflowError, ValueError) as exc:
            raise ValueError("The page cursor `after` is out of range.") from exc

    @classmethod
    def of(cls, mention: Mention) -> Key:
        return cls(
            mention.sla_due_at or NO_DUE_AT,
            -mention.priority,
            mention.created_at,
            mention.pk,
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(microseconds=1)


def from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class RowAfter(Expression):
    """`(e1, e2, ...) > (v1, v2, ...)`: a row-value comparison (PostgreSQL and SQLite ≥ 3.15).

    The left side compiles the same expressions as the ORDER BY and the index, so PostgreSQL reads it
    as an index range.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, exprs: Sequence[Any], values: Sequence[Any]) -> None:
        super().__init__(output_field=BooleanField())
        self.exprs = list(exprs)
        self.values = [Value(v) for v in values]

    def get_source_expressions(self) -> list[Any]:
        return [*self.exprs, *self.values]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        n = len(self.exprs)
        self.exprs, self.values = list(exprs[:n]), list(exprs[n:])

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        lhs: list[str] = []
        rhs: list[str] = []
        params: list[Any] = []
        for expr in self.exprs:
            sql, p = compiler.compile(expr)
            lhs.append(sql)
            params.extend(p)
        for value in self.values:
            sql, p = compiler.compile(value)
            rhs.append(sql)
            params.extend(p)
        return f"({', '.join(lhs)}) > ({', '.join(rhs)})", tuple(params)


def _after(key: Key) -> RowAfter:
    from django.db.models import F

    return RowAfter(
        [URGENCY_DUE, URGENCY_PRIORITY, F("created_at"), F("id")],
        [key.due, key.neg_priority, key.created_at, key.id],
    )


def filtered(
    filters: dict[str, Any], *, user: User, now: datetime
) -> QuerySet[Mention]:
    """Mentions matching a saved view and the filters; repeated values of one filter mean OR."""
    qs = Mention.objects.all()
    view = filters.get("view", "")
    statuses: Sequence[str] | None = list(OPEN_STATUSES)
    if view == "mine":
        qs = qs.filter(assignee=user)
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif view == "breaching":
        # On the index expression, so that the due-time bound ends the index range read.
        qs = qs.alias(urgency_due=URGENCY_DUE).filter(
            urgency_due__lte=now + BREACHING_WINDOW
        )
    elif view == "waiting":
        statuses = [Mention.Status.WAITING]
    elif view == "monitoring":
        statuses = [Mention.Status.MONITORING]
    elif view == "all":
        statuses = None
    if filters.get("status"):  # an explicit status replaces the view's
        statuses = filters["status"]
    if statuses is not None:
        # One value as `=`, so that the status-led index is a range; the open pair exactly as the
        # partial index's predicate so that the planner proves it applies.
        qs = (
            qs.filter(status=statuses[0])
            if len(statuses) == 1
            else qs.filter(status__in=statuses)
        )
    if "priority" in filters:
        qs = qs.filter(priority__in=filters["priority"])
    if "assignee" in filters:
        qs = qs.filter(_assignee_q(filters["assignee"], user))
    if "team" in filters:
        qs = qs.filter(team_id__in=[int(v) for v in filters["team"]])
    if "account" in filters:
        qs = qs.filter(account_id__in=[int(v) for v in filters["account"]])
    if "stream" in filters:
        stream_ids = [int(v) for v in filters["stream"]]
        if len(stream_ids) == 1:
            # A plain join: a mention matches one stream at most once (mentionstream's unique
            # constraint), and it compiles and plans in half the time of the EXISTS below.
            qs = qs.filter(mentionstream__stream_id=stream_ids[0])
        else:
            qs = qs.filter(
                Exists(
                    MentionStream.objects.filter(
                        mention=OuterRef("pk"), stream_id__in=stream_ids
                    )
                )
            )
    if "kind" in filters:
        qs = qs.filter(kind__in=filters["kind"])
    if "sentiment" in filters:
        qs = qs.filter(_sentiment_q(filters["sentiment"]))
    if "lang" in filters:
        qs = qs.filter(lang__in=filters["lang"])
    if "tag" in filters:
        through = Mention.tags.through
        qs = qs.filter(
            Exists(
                through.objects.filter(
                    mention_id=OuterRef("pk"),
                    tag__name__in=[t.lower() for t in filters["tag"]],
                )
            )
        )
    if "q" in filters:
        term = filters["q"]
        qs = qs.filter(
            Q(text__icontains=term)
            | Q(author__handle__icontains=term.lstrip("@"))
            | Q(author__name__icontains=term)
        )
    if "from_" in filters:
        qs = qs.filter(created_at__gte=_day_start(filters["from_"]))
    if "to" in filters:  # inclusive: up to the end of that day
        qs = qs.filter(created_at__lt=_day_start(filters["to"]) + timedelta(days=1))
    if "sla" in filters:
        qs = qs.filter(_sla_q(filters["sla"]))
    return qs


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _assignee_q(values: Sequence[str], user: User) -> Q:
    q = Q()
    for value in values:
        if value == "me":
            q |= Q(assignee=user)
        elif value == "none":
            q |= Q(assignee__isnull=True)
        elif value == "any":
            q |= Q(assignee__isnull=False)
        else:
            q |= Q(assignee_id=int(value))
    return q


def _sentiment_q(values: Sequence[str]) -> Q:
    q = Q()
    for value in values:
        if value == "negative":
            q |= Q(sentiment__lte=-SENTIMENT_EDGE)
        elif value == "positive":
            q |= Q(sentiment__gte=SENTIMENT_EDGE)
        else:
            q |= Q(sentiment__gt=-SENTIMENT_EDGE, sentiment__lt=SENTIMENT_EDGE)
    return q


def _sla_q(values: Sequence[str]) -> Q:
    q = Q()
    clocks = SlaClock.objects.filter(mention=OuterRef("pk"))
    for value in values:
        if value == "breached":
            q |= Q(Exists(clocks.filter(state=SlaClock.State.BREACHED)))
        elif value == "met_late":
            q |= Q(Exists(clocks.filter(state=SlaClock.State.MET, is_late=True)))
        elif value == "met":
            q |= Q(Exists(clocks.filter(state=SlaClock.State.MET, is_late=False)))
        else:
            q |= Q(Exists(clocks.filter(state=SlaClock.State.ACTIVE)))
    return q


def for_display(qs: QuerySet[Mention]) -> QuerySet[Mention]:
    """What a row shows, in a fixed number of queries: one for the rows, one each for streams and tags
    (as lists `shown_streams` and `shown_tags`, in the order the row shows them)."""
    return (
        qs.select_related("author", "assignee", "team")
        .prefetch_related(
            Prefetch(
                "streams",
                queryset=Stream.objects.only("id", "name", "account_id", "kind"),
                to_attr="shown_streams",
            ),
            Prefetch(
                "tags", queryset=Tag.objects.only("id", "name"), to_attr="shown_tags"
            ),
        )
        .defer("raw", "author__description", "priority_reasons")
    )


def with_keys(rows: list[Mention]) -> list[Mention]:
    """Give each row its `queue_key` (the browser sorts merged live rows by it) and `version`."""
    for row in rows:
        setattr(row, "queue_key", Key.of(row).encode())  # noqa: B010 (not a model field)
        setattr(row, "version", to_micros(row.updated_at))  # noqa: B010
    return rows


@dataclass
class Page:
    rows: list[Row]
    next_key: Key | None


def _key_of_stamp(stamp: tuple[object, ...]) -> Key:
    pk, due, _warn, priority, created, *_ = stamp
    return Key(
        due or NO_DUE_AT,  # type: ignore[arg-type]
        -int(priority),  # type: ignore[call-overload]
        created,  # type: ignore[arg-type]
        int(pk),  # type: ignore[call-overload]
    )


def page(
    qs: QuerySet[Mention],
    *,
    after: Key | None,
    now: datetime,
    size: int | None = None,
) -> Page:
    """One page in urgency order after `after` (a keyset cursor, never OFFSET), rendered."""
    size = size or PAGE_SIZE
    if after is not None:
        qs = qs.filter(_after(after))
    found = stamps(qs.order_by(*ORDER)[: size + 1])
    more = len(found) > size
    found = found[:size]
    return Page(
        rows=render_rows(found, now=now),
        next_key=_key_of_stamp(found[-1]) if more and found else None,
    )


@dataclass
class Changes:
    rows: list[Row]  # changed or new rows that match the filters, in urgency order
    removed: list[int]  # changed rows that no longer match
    checked_at: datetime
    truncated: bool = False  # too many changes to merge: reload the table


def changes_since(qs: QuerySet[Mention], *, since: datetime, now: datetime) -> Changes:
    """Rows changed since `since` (with LIVE_OVERLAP), split into still-matching and no-longer-matching."""
    changed = list(
        Mention.objects.filter(updated_at__gt=since - LIVE_OVERLAP)
        .order_by("-updated_at")
        .values_list("id", flat=True)[:LIVE_MAX_ROWS]
    )
    if not changed:
        return Changes(rows=[], removed=[], checked_at=now)
    if len(changed) == LIVE_MAX_ROWS:
        return Changes(rows=[], removed=[], checked_at=now, truncated=True)
    found = stamps(qs.filter(id__in=changed).order_by(*ORDER))
    matching = {int(s[0]) for s in found}  # type: ignore[call-overload]
    return Changes(
        rows=render_rows(found, now=now),
        removed=[pk for pk in changed if pk not in matching],
        checked_at=now,
    )
