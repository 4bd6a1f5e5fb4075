"""Storing parsed pages: bulk upserts of authors, threads and mentions, linked to the stream that matched.

The unique X id makes redelivery harmless: a page stored twice (a retried poll, two streams matching the
same post, two workers racing) adds each mention once. Callers run `store_page` inside the transaction
that also moves the stream's checkpoint (see polling.py), so rows and cursor commit or vanish together.

With `enrich=True` (what polling does) each new mention is scored before the insert (mentions/scoring.py:
priority, reasons, sentiment, monitoring suggestion, written by the same INSERT), and the new ids are
handed to the SLA clocks and the escalation rules in the same transaction (contracts §9). Scores are only
written with new rows: a stored mention, and so an agent's priority override, is never rewritten.

Two paths with the same behaviour:
- PostgreSQL: ONE statement a page (`_STORE_PAGE`): authors, threads, mentions and stream links are
  data-modifying CTEs over `unnest()` of typed arrays: one round trip and one plan a page, and
  `json_populate_recordset` over the wide mentions row type cost ~5 ms a page more than `unnest`
  (docs/ingest.md has the measurements).
- Anything else (the embedded SQLite): the ORM's bulk_create.
"""

from __future__ import annotations

import dataclasses
import json
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection

from mentions import scoring
from mentions.models import Author, Mention, MentionStream, Stream, Thread
from mentions.sla import start
from mentions.sla.calendars import PolicySet, policy_set
from mentions.sla.policies import MentionFacts
from mentions.sources.base import InboundAuthor, InboundMention

if TYPE_CHECKING:
    from mentions.escalation.models import EscalationRule

AUTHOR_UPDATE_FIELDS = [
    "handle",
    "name",
    "description",
    "followers_count",
    "verified",
    "avatar_url",
    "updated_at",
]


@dataclass(frozen=True, slots=True)
class StoreResult:
    created: int
    duplicates: int
    # Ids of the mentions this call inserted (what the SLA clocks and escalation rules start from).
    new_ids: tuple[int, ...] = field(default=(), compare=False)
    # With a `Fence`: whether it matched (False: the stream's lease is someone else's; roll back).
    fenced: bool | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Fence:
    """The stream UPDATE that commits a page: `fields` set on the stream while `owner` holds its lease.

    `store_prepared` applies it in the page's transaction, after the page's rows: on PostgreSQL inside
    the page statement (no round trip, no ORM query of its own: about a tenth of a page's time in
    bench/ingest), elsewhere, or for fields the statement does not know, through the ORM. Matching no
    row means another worker has taken the stream over (StoreResult.fenced is False).
    """

    stream_id: int
    owner: str
    fields: dict[str, Any]

    def apply_orm(self) -> bool:
        return bool(
            Stream.objects.filter(pk=self.stream_id, lease_owner=self.owner).update(
                **self.fields
            )
        )

    def statement_params(self) -> dict[str, Any] | None:
        """The page statement's fence parameters, or None when a field is not one it sets."""
        if not self.fields.keys() <= _FENCE_PARAMS.keys():
            return None
        params = {param: self.fields.get(name) for name, param in _FENCE_PARAMS.items()}
        if params["f_checkpoint"] is not None:
            params["f_checkpoint"] = _checkpoint_json(params["f_checkpoint"])
        return params | {
            "fence": True,
            "owner": self.owner,
            "f_set": _texts(sorted(self.fields)),
        }


# The stream fields the page statement's `fence` sets, with their parameters (Fence.statement_params).
_FENCE_PARAMS = {
    "lease_expires_at": "f_lease",
    "checkpoint": "f_checkpoint",
    "since_id": "f_since_id",
    "backfill_completed_at": "f_backfill",
    "rate_limit_remaining": "f_rate_remaining",
    "rate_limit_reset_at": "f_rate_reset",
}
_NO_FENCE: dict[str, Any] = dict.fromkeys(_FENCE_PARAMS.values()) | {
    "fence": False,
    "owner": "",
    "f_set": "{}",
}
_FENCE_MARK = "fence"  # the page statement's row for a fence that matched


def _checkpoint_json(value: Any) -> str:
    """The checkpoint as its JSONField writes it."""
    return json.dumps(value, cls=Stream._meta.get_field("checkpoint").encoder)


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page made ready to store: everything that needs no database, computed ahead (`prepare_page`).

    Built in the poller's fetch-ahead thread while the previous page is being written (pipeline.py),
    so scoring, SLA planning and the statement's arrays cost the database's path nothing.
    """

    account_id: int
    stream_id: int
    # One per X id, sorted by id, each with its author in `authors`.
    mentions: list[InboundMention]
    authors: list[InboundAuthor]
    enrich: bool
    scores: dict[str, scoring.Score] | None
    # x_id -> the SLA clocks to start if the mention is new (None: no policy applies). Mentions whose
    # author is a placeholder are left out: their stored profile may differ from the page's, so their
    # clocks start after the insert from the stored rows (sla.start_clocks), as policies see them.
    plans: dict[str, start.NewPlan | None]
    # The PostgreSQL statement's arrays, when that path runs.
    params: dict[str, Any] | None
    # The authors statement's arrays, and the authors' ids once it ran (`store_authors`).
    author_params: dict[str, str] | None = None
    author_ids: dict[str, int] | None = None


def prepare_page(
    *,
    account_id: int,
    stream_id: int,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    enrich: bool = True,
    keywords: Sequence[scoring.Keyword] | None = None,
    policies: PolicySet | None = None,
    fast_path: bool | None = None,
) -> PreparedPage:
    """Dedupe, score, plan the SLA clocks and build the statement's arrays: no database access.

    `keywords` and `policies` are loaded by the caller once per poll (`load_rules`); the defaults load
    them here (a database read, so not from a fetch-ahead thread).
    """
    # Sorted by id: two workers inserting overlapping pages then take row locks in the same order.
    unique = sorted({m.x_id: m for m in mentions}.values(), key=lambda m: m.x_id)
    profiles = {a.x_id: a for a in authors if a.complete}
    author_ids = {a.x_id for a in authors}
    unique = [m for m in unique if m.author_x_id in author_ids]
    scores: dict[str, scoring.Score] | None = None
    plans: dict[str, start.NewPlan | None] = {}
    if enrich and unique:
        scores = scoring.score_page(
            unique,
            authors,
            keywords=scoring.active_keywords() if keywords is None else keywords,
        )
        pset = policy_set() if policies is None else policies
        if pset.policies:
            for m in unique:
                profile = profiles.get(m.author_x_id)
                if profile is None:
                    continue  # a placeholder: planned from the stored profile after the insert
                facts = MentionFacts(
                    stream_ids=frozenset((stream_id,)),
                    account_id=account_id,
                    kind=m.kind,
                    priority=scores[m.x_id].priority,
                    followers=profile.followers_count,
                    verified=profile.verified,
                    lang=m.lang or "",
                )
                # A post that opens its conversation (X gives it its own id as conversation id)
                # starts a new thread: only first response applies, no next-response plan needed.
                plans[m.x_id] = start.plan_new(
                    pset,
                    facts,
                    m.created_at,
                    may_follow_up=m.conversation_id != m.x_id,
                )
        else:
            plans = dict.fromkeys((m.x_id for m in unique), None)
    fast = _fast_path() if fast_path is None else fast_path
    return PreparedPage(
        account_id=account_id,
        stream_id=stream_id,
        mentions=unique,
        authors=authors,
        enrich=enrich,
        scores=scores,
        plans=plans,
        params=_page_params(unique, scores, plans if enrich else None)
        if fast and unique
        else None,
        author_params=_author_params(authors) if fast and unique else None,
    )


def load_rules() -> tuple[list[scoring.Keyword], PolicySet]:
    """The priority keywords and SLA policies that prepare_page applies, read once per poll."""
    return scoring.active_keywords(), policy_set()


def store_page(
    *,
    account_id: int,
    stream_id: int,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    now: datetime,
    enrich: bool = True,
    keywords: Sequence[scoring.Keyword] | None = None,
) -> StoreResult:
    """Upsert one page of mentions and record that `stream_id` matched them.

    `keywords`: the active priority keywords, loaded once per poll by the caller; None loads them here.
    """
    prepared = prepare_page(
        account_id=account_id,
        stream_id=stream_id,
        mentions=mentions,
        authors=authors,
        enrich=enrich,
        keywords=keywords,
    )
    return store_prepared(prepared, now=now)


def store_prepared(
    prepared: PreparedPage,
    *,
    now: datetime,
    while_waiting: Callable[[], None] | None = None,
    rules: Sequence[EscalationRule] | None = None,
    fence: Fence | None = None,
) -> StoreResult:
    """Write a prepared page; call inside the transaction that moves the stream's checkpoint.

    `while_waiting` is called just before the page statement is sent: the poller lets its fetch-ahead
    thread prepare the next page then (pipeline.FetchAhead.go), while this thread waits for PostgreSQL.
    `rules`: the active escalation rules, read once per poll (`load_escalation_rules`); None reads them
    here. With none, the facts the rules would read are not even assembled.
    `fence`: the stream update that commits the page (the poller's checkpoint), applied after the
    page's rows. When it matches nothing (`fenced` False) nothing else runs: the caller rolls back.
    """
    if not prepared.mentions:
        if fence is None:
            return StoreResult(created=0, duplicates=0)
        return StoreResult(created=0, duplicates=0, fenced=fence.apply_orm())
    known: dict[int, Any] = {}
    if _fast_path():
        if rules is None and prepared.enrich:
            rules = load_escalation_rules()
        result, unplanned, known = _store_page_postgres(
            prepared,
            now=now,
            while_waiting=while_waiting,
            with_facts=bool(rules),
            fence=fence,
        )
        if result.fenced is False:
            return result
    else:
        if while_waiting is not None:
            while_waiting()
        result = _store_page_portable(
            account_id=prepared.account_id,
            stream_id=prepared.stream_id,
            mentions=prepared.mentions,
            authors=prepared.authors,
            now=now,
            scores=prepared.scores,
        )
        unplanned = list(result.new_ids)
        if fence is not None:
            if not fence.apply_orm():
                return StoreResult(created=0, duplicates=0, fenced=False)
            result = dataclasses.replace(result, fenced=True)
    if prepared.enrich and result.new_ids:
        # Imported here: both apps import mentions.models, and ingest is imported by polling at startup.
        from mentions.escalation import services as escalation
        from mentions.sla import services as sla

        if unplanned:
            sla.start_clocks(unplanned, now=now)
        escalation.evaluate_mentions(
            list(result.new_ids), now=now, known=known, rules=rules
        )
    return result


def load_escalation_rules() -> list[EscalationRule]:
    """The active escalation rules that store_prepared runs on new mentions, read once per poll."""
    from mentions.escalation import services as escalation

    return escalation.active_rules()


def _fast_path() -> bool:
    return connection.vendor == "postgresql"


def fast_path() -> bool:
    """Whether store_prepared takes the PostgreSQL statement (prepare_page then builds its arrays)."""
    return _fast_path()


# --- Portable path (SQLite) ------------------------------------------------------------------


def _upsert_authors(authors: list[InboundAuthor], *, now: datetime) -> dict[str, int]:
    """Create or refresh authors; placeholders (profile missing from the response) never overwrite data."""
    complete = {a.x_id: a for a in authors if a.complete}
    placeholders = {
        a.x_id: a for a in authors if not a.complete and a.x_id not in complete
    }
    if complete:
        Author.objects.bulk_create(
            [
                Author(
                    x_id=a.x_id,
                    handle=a.handle,
                    name=a.name,
                    description=a.description,
                    followers_count=a.followers_count,
                    verified=a.verified,
                    avatar_url=a.avatar_url,
                    first_seen_at=now,
                    updated_at=now,
                )
                for a in sorted(complete.values(), key=lambda a: a.x_id)
            ],
            update_conflicts=True,
            unique_fields=["x_id"],
            update_fields=AUTHOR_UPDATE_FIELDS,
        )
    if placeholders:
        Author.objects.bulk_create(
            [
                Author(
                    x_id=a.x_id,
                    handle=a.handle,
                    name=a.name,
                    first_seen_at=now,
                    updated_at=now,
                )
                for a in sorted(placeholders.values(), key=lambda a: a.x_id)
            ],
            ignore_conflicts=True,
        )
    return dict(
        Author.objects.filter(
            x_id__in=complete.keys() | placeholders.keys()
        ).values_list("x_id", "id")
    )


def _thread_ids(
    mentions: list[InboundMention], author_ids: dict[str, int]
) -> dict[tuple[str, int], int]:
    first_seen: dict[tuple[str, int], datetime] = {}
    for m in mentions:
        key = (m.conversation_id, author_ids[m.author_x_id])
        if key not in first_seen or m.created_at < first_seen[key]:
            first_seen[key] = m.created_at
    Thread.objects.bulk_create(
        [
            Thread(conversation_id=conversation, author_id=author, created_at=created)
            for (conversation, author), created in sorted(first_seen.items())
        ],
        ignore_conflicts=True,
    )
    rows = Thread.objects.filter(
        conversation_id__in={c for c, _ in first_seen},
        author_id__in={a for _, a in first_seen},
    ).values_list("conversation_id", "author_id", "id")
    return {(conversation, author): pk for conversation, author, pk in rows}


def _store_page_portable(
    *,
    account_id: int,
    stream_id: int,
    mentions: list[InboundMention],
    authors: list[InboundAuthor],
    now: datetime,
    scores: dict[str, scoring.Score] | None = None,
) -> StoreResult:
    author_ids = _upsert_authors(authors, now=now)
    x_ids = [m.x_id for m in mentions]
    existing = set(
        Mention.objects.filter(x_id__in=x_ids).values_list("x_id", flat=True)
    )
    fresh = [m for m in mentions if m.x_id not in existing]
    thread_ids = _thread_ids(fresh, author_ids)
    team_id = Stream.objects.filter(pk=stream_id).values_list("team_id", flat=True)[0]
    rows = []
    for m in fresh:
        author_id = author_ids[m.author_x_id]
        row = Mention(
            x_id=m.x_id,
            kind=m.kind,
            account_id=account_id,
            author_id=author_id,
            thread_id=thread_ids[(m.conversation_id, author_id)],
            team_id=team_id,
            text=m.text,
            lang=m.lang,
            created_at=m.created_at,
            ingested_at=now,
            conversation_id=m.conversation_id,
            in_reply_to_x_id=m.in_reply_to_x_id,
            summons_brand=m.summons_brand,
            raw=m.raw,
        )
        if scores is not None:
            s = scores[m.x_id]
            row.priority = s.priority
            row.priority_score = s.points
            row.priority_reasons = s.reasons_json()
            row.sentiment = s.sentiment
            row.is_monitoring_suggested = s.is_monitoring_suggested
        rows.append(row)
    # ignore_conflicts: a concurrent poll of another stream may have stored the same post.
    Mention.objects.bulk_create(rows, ignore_conflicts=True)
    ids = dict(Mention.objects.filter(x_id__in=x_ids).values_list("x_id", "id"))
    MentionStream.objects.bulk_create(
        [
            MentionStream(mention_id=pk, stream_id=stream_id, matched_at=now)
            for pk in ids.values()
        ],
        ignore_conflicts=True,
    )
    new_ids = tuple(ids[m.x_id] for m in fresh if m.x_id in ids)
    return StoreResult(
        created=len(new_ids), duplicates=len(ids) - len(new_ids), new_ids=new_ids
    )


# --- PostgreSQL ------------------------------------------------------------------------------
#
# Every column travels as one array literal ('{...}' text, cast server-side to its type): parsing 15 array
# literals is far cheaper than parsing 1,500 constants (psycopg2 spells a list as ARRAY[...]), and `raw`
# travels as one JSON array split by jsonb_array_elements. Lookups of rows that already exist go through
# LATERAL ... LIMIT 1 so that they stay index probes while the table statistics still call it small.
#
# Concurrency: every CTE sees the statement's snapshot. Rows inserted here come back from RETURNING;
# rows that existed before are read from the snapshot (which does not show this statement's inserts, so
# nothing is counted twice). A placeholder author, thread or mention committed by another transaction
# after the snapshot is in neither: ON CONFLICT waited for that transaction, so the mentions missing from
# the answer are stored again by a second run of the statement, whose new snapshot sees those rows.

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_UPSERT_AUTHORS = """
WITH a_in AS (
    SELECT * FROM unnest(%(a_x_id)s::text[], %(a_handle)s::text[], %(a_name)s::text[],
                         %(a_description)s::text[], %(a_followers)s::int[], %(a_verified)s::bool[],
                         %(a_avatar)s::text[])
        AS t(x_id, handle, name, description, followers_count, verified, avatar_url)
), p_in AS (
    SELECT * FROM unnest(%(p_x_id)s::text[], %(p_handle)s::text[], %(p_name)s::text[]) AS t(x_id, handle, name)
), a_up AS (
    INSERT INTO mentions_author AS a
        (x_id, handle, name, description, followers_count, verified, avatar_url, first_seen_at, updated_at)
    SELECT x_id, handle, name, description, followers_count, verified, avatar_url, %(now)s, %(now)s FROM a_in
    ON CONFLICT (x_id) DO UPDATE SET
        handle = EXCLUDED.handle, name = EXCLUDED.name, description = EXCLUDED.description,
        followers_count = EXCLUDED.followers_count, verified = EXCLUDED.verified,
        avatar_url = EXCLUDED.avatar_url, updated_at = EXCLUDED.updated_at
    RETURNING a.x_id, a.id
), p_ins AS (  -- a placeholder never overwrites a stored profile
    INSERT INTO mentions_author
        (x_id, handle, name, description, followers_count, verified, avatar_url, first_seen_at, updated_at)
    SELECT x_id, handle, name, '', 0, false, '', %(now)s, %(now)s FROM p_in
    ON CONFLICT (x_id) DO NOTHING
    RETURNING x_id, id
), authors AS MATERIALIZED (
    SELECT x_id, id FROM a_up
    UNION ALL SELECT x_id, id FROM p_ins
    UNION ALL SELECT p.x_id, e.id FROM p_in p
        CROSS JOIN LATERAL (SELECT id FROM mentions_author e WHERE e.x_id = p.x_id LIMIT 1) AS e
)
SELECT x_id, id FROM authors
"""

_STORE_PAGE = """
WITH m_in AS (
    SELECT t.*, d.* FROM unnest(%(x_id)s::text[], %(kind)s::text[], %(text)s::text[], %(lang)s::text[],
                         %(created_at)s::timestamptz[], %(author_x_id)s::text[], %(conversation_id)s::text[],
                         %(in_reply_to)s::text[], %(summons)s::bool[], %(thread_key)s::int[],
                         %(author_id)s::bigint[],
                         ARRAY(SELECT r FROM jsonb_array_elements(%(raw)s::jsonb) WITH ORDINALITY AS e(r, n)
                               ORDER BY n),
                         %(priority)s::int[], %(score)s::int[],
                         ARRAY(SELECT r FROM jsonb_array_elements(%(reasons)s::jsonb) WITH ORDINALITY AS e(r, n)
                               ORDER BY n),
                         %(sentiment)s::float8[],
                         %(monitoring)s::bool[],
                         -- SLA plans (sla.start.plan_new; shorter arrays pad with NULL: no clocks)
                         %(policy)s::bigint[],
                         %(f_sec)s::int[], %(f_bus)s::bool[], %(f_due)s::bigint[],
                         %(f_warn)s::bigint[], %(f_hint)s::text[],
                         %(n_sec)s::int[], %(n_bus)s::bool[], %(n_due)s::bigint[],
                         %(n_warn)s::bigint[], %(n_hint)s::text[],
                         %(r_sec)s::int[], %(r_bus)s::bool[], %(r_due)s::bigint[],
                         %(r_warn)s::bigint[], %(r_hint)s::text[])
        AS t(x_id, kind, text, lang, created_at, author_x_id, conversation_id, in_reply_to_x_id,
             summons_brand, g, author_id, raw, priority, priority_score, priority_reasons, sentiment, is_monitoring_suggested,
             policy_id, f_sec, f_bus, f_due_us, f_warn_us, f_hint, n_sec, n_bus, n_due_us, n_warn_us, n_hint,
             r_sec, r_bus, r_due_us, r_warn_us, r_hint)
    -- Due and warning times come as microseconds after the post (integers parse at a third of the
    -- cost of timestamps): the instants themselves, whatever calendar made them.
    CROSS JOIN LATERAL (
        SELECT t.created_at + t.f_due_us * interval '1 microsecond' AS f_due,
               t.created_at + t.f_warn_us * interval '1 microsecond' AS f_warn,
               t.created_at + t.n_due_us * interval '1 microsecond' AS n_due,
               t.created_at + t.n_warn_us * interval '1 microsecond' AS n_warn,
               t.created_at + t.r_due_us * interval '1 microsecond' AS r_due,
               t.created_at + t.r_warn_us * interval '1 microsecond' AS r_warn
    ) AS d
), existing AS MATERIALIZED (
    SELECT m.id, i.x_id
    FROM m_in i CROSS JOIN LATERAL (SELECT id FROM mentions_mention m WHERE m.x_id = i.x_id LIMIT 1) AS m
), fresh AS MATERIALIZED (
    SELECT i.* FROM m_in i WHERE NOT EXISTS (SELECT FROM existing e WHERE e.x_id = i.x_id)
), t_key AS (  -- g: the page's number for the mention's (conversation, author), from Python
    SELECT g, conversation_id, author_id, min(created_at) AS created_at
    FROM fresh GROUP BY g, conversation_id, author_id
), t_old AS MATERIALIZED (
    -- A thread stored before: its human answers decide between first and next response (as in
    -- sla.start_clocks: the latest stopped response clock, the highest next-response cycle).
    SELECT k.g, t.id, answers.last_answer, answers.max_next
    FROM t_key k CROSS JOIN LATERAL (
        SELECT id FROM mentions_thread t
        WHERE t.conversation_id = k.conversation_id AND t.author_id = k.author_id LIMIT 1
    ) AS t
    LEFT JOIN LATERAL (  -- index probes per mention of the thread, never a scan of all clocks
        SELECT max(c.stopped_at) AS last_answer,
               max(c.cycle) FILTER (WHERE c.target = 'next_response') AS max_next
        FROM mentions_mention tm CROSS JOIN LATERAL (
            SELECT c.stopped_at, c.cycle, c.target FROM sla_slaclock c
            WHERE c.mention_id = tm.id AND c.target IN ('first_response', 'next_response')
              AND c.stopped_by_channel <> ''
            OFFSET 0  -- not flattened into a join: stays a probe of sla_slaclock_cycle per mention
        ) AS c
        WHERE %(plans)s AND tm.thread_id = t.id
    ) AS answers ON true
), t_new AS MATERIALIZED (
    -- Each new thread's id is drawn here (as the mentions' below): no join of the inserted rows back.
    SELECT nextval((SELECT pg_get_serial_sequence('mentions_thread', 'id'))) AS id, k.*
    FROM (SELECT * FROM t_key WHERE g <> ALL (ARRAY(SELECT g FROM t_old))
          ORDER BY conversation_id, author_id) AS k
), t_ins AS (
    INSERT INTO mentions_thread (id, conversation_id, author_id, created_at)
    SELECT id, conversation_id, author_id, created_at FROM t_new ORDER BY conversation_id, author_id
    ON CONFLICT (conversation_id, author_id) DO NOTHING  -- a racing poll's thread: found by the second run
    RETURNING id
), threads AS MATERIALIZED (
    -- One row: the page's threads as arrays in step, so that each mention finds its own by g with
    -- array_position (a join of two CTEs would be planned as a nested loop: ~1 ms a page).
    SELECT array_agg(g) AS g, array_agg(id) AS id, array_agg(last_answer) AS last_answer,
           array_agg(max_next) AS max_next
    FROM (SELECT g, id, last_answer, max_next FROM t_old
          UNION ALL
          SELECT g, id, NULL, NULL FROM t_new WHERE id = ANY (ARRAY(SELECT id FROM t_ins))) AS t
), planned AS MATERIALIZED (
    -- Each new mention's id is drawn here, so that its clocks need no join back to the inserted rows.
    SELECT nextval((SELECT pg_get_serial_sequence('mentions_mention', 'id'))) AS new_id,
           f.*, t.id AS thread_id, p.*,
           CASE WHEN f.r_due IS NULL OR (p.s_due IS NOT NULL AND p.s_due <= f.r_due)
                THEN p.s_due ELSE f.r_due END AS sla_due_at,
           CASE WHEN f.r_due IS NULL OR (p.s_due IS NOT NULL AND p.s_due <= f.r_due)
                THEN p.s_warn ELSE f.r_warn END AS sla_warning_at,
           CASE WHEN f.r_due IS NULL OR (p.s_due IS NOT NULL AND p.s_due <= f.r_due)
                THEN p.s_hint ELSE f.r_hint END AS sla_hint
    FROM fresh f CROSS JOIN threads ta
    CROSS JOIN LATERAL (
        SELECT ta.id[n] AS id, ta.last_answer[n] AS last_answer, ta.max_next[n] AS max_next
        FROM (SELECT array_position(ta.g, f.g) AS n) AS x
        WHERE n IS NOT NULL  -- no thread: a racing poll's, seen by the second run
    ) AS t
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.last_answer IS NULL THEN 'first_response' ELSE 'next_response' END AS s_target,
               CASE WHEN t.last_answer IS NULL THEN 1 ELSE coalesce(t.max_next, 0) + 1 END AS s_cycle,
               CASE WHEN t.last_answer IS NULL THEN f.f_sec ELSE f.n_sec END AS s_sec,
               CASE WHEN t.last_answer IS NULL THEN f.f_bus ELSE f.n_bus END AS s_bus,
               CASE WHEN t.last_answer IS NULL THEN f.f_due ELSE f.n_due END AS s_due,
               CASE WHEN t.last_answer IS NULL THEN f.f_warn ELSE f.n_warn END AS s_warn,
               CASE WHEN t.last_answer IS NULL THEN f.f_hint ELSE f.n_hint END AS s_hint
    ) AS p
), inserted AS (
    INSERT INTO mentions_mention
        (id, x_id, kind, account_id, author_id, thread_id, team_id, text, lang, created_at, ingested_at,
         conversation_id, in_reply_to_x_id, summons_brand, raw, status, priority, priority_score,
         priority_reasons, is_priority_overridden, sentiment, is_monitoring_suggested,
         sla_due_at, sla_warning_at, sla_hint)
    SELECT p.new_id, p.x_id, p.kind, %(account)s, p.author_id, p.thread_id, (SELECT team_id FROM mentions_stream WHERE id = %(stream)s), p.text, p.lang, p.created_at, %(now)s,
           p.conversation_id, p.in_reply_to_x_id, p.summons_brand, p.raw, %(status)s, p.priority,
           p.priority_score, p.priority_reasons, false, p.sentiment, p.is_monitoring_suggested,
           p.sla_due_at, p.sla_warning_at, coalesce(p.sla_hint, '')
    FROM planned p
    ON CONFLICT (x_id) DO NOTHING  -- a concurrent poll of another stream may have stored the same post
    RETURNING id, x_id, team_id, sla_due_at
), clocks AS (
    INSERT INTO sla_slaclock
        (mention_id, policy_id, target, cycle, state, is_business_time, target_seconds, started_at,
         due_at, warning_at, due_hint, paused_seconds, paused_business_seconds, is_late,
         stopped_by_channel)
    SELECT p.new_id, p.policy_id, c.target, c.cycle, 'active', c.bus, c.sec, p.created_at,
           c.due, c.warn, c.hint, 0, 0, false, ''
    FROM planned p
    CROSS JOIN LATERAL (VALUES (1, p.s_target, p.s_cycle, p.s_sec, p.s_bus, p.s_due, p.s_warn, p.s_hint),
                               (2, 'resolution', 1, p.r_sec, p.r_bus, p.r_due, p.r_warn, p.r_hint))
        AS c(n, target, cycle, sec, bus, due, warn, hint)
    WHERE %(plans)s AND p.policy_id IS NOT NULL AND c.sec IS NOT NULL
      -- only the mentions this statement inserted (not one a racing poll stored first)
      AND p.new_id = ANY(ARRAY(SELECT id FROM inserted))
    ORDER BY p.new_id, c.n
    -- no ON CONFLICT (it costs ~0.3 ms a page): the mention ids were drawn by this statement, so no
    -- other transaction can hold a clock of theirs
    RETURNING mention_id, target, cycle, due_at
), linked AS (  -- the new mentions: theirs are new ids, no conflict is possible
    INSERT INTO mentions_mentionstream (mention_id, stream_id, matched_at)
    SELECT id, %(stream)s, %(now)s FROM inserted
), relinked AS (  -- mentions stored before, maybe already linked to this stream
    INSERT INTO mentions_mentionstream (mention_id, stream_id, matched_at)
    SELECT id, %(stream)s, %(now)s FROM existing
    ON CONFLICT (mention_id, stream_id) DO NOTHING
), fence AS (
    -- The stream's checkpoint or cursor, only while we hold its lease (ingest.Fence): the fields named
    -- in f_set. It reads `inserted` to the end first, so the stream row is locked after the page's
    -- rows, as a separate UPDATE after this statement would (two workers racing over the same posts
    -- then wait for each other in one order only).
    UPDATE mentions_stream SET
        lease_expires_at = CASE WHEN 'lease_expires_at' = ANY (%(f_set)s::text[])
                                THEN %(f_lease)s ELSE lease_expires_at END,
        checkpoint = CASE WHEN 'checkpoint' = ANY (%(f_set)s::text[])
                          THEN %(f_checkpoint)s::jsonb ELSE checkpoint END,
        since_id = CASE WHEN 'since_id' = ANY (%(f_set)s::text[]) THEN %(f_since_id)s ELSE since_id END,
        backfill_completed_at = CASE WHEN 'backfill_completed_at' = ANY (%(f_set)s::text[])
                                     THEN %(f_backfill)s ELSE backfill_completed_at END,
        rate_limit_remaining = CASE WHEN 'rate_limit_remaining' = ANY (%(f_set)s::text[])
                                    THEN %(f_rate_remaining)s ELSE rate_limit_remaining END,
        rate_limit_reset_at = CASE WHEN 'rate_limit_reset_at' = ANY (%(f_set)s::text[])
                                   THEN %(f_rate_reset)s ELSE rate_limit_reset_at END
    WHERE %(fence)s AND id = %(stream)s AND lease_owner = %(owner)s
      AND (SELECT count(*) FROM inserted) >= 0
    RETURNING id
)
-- New mentions come back with what the escalation rules read about them (their facts need no
-- reading back): team and due time, and then each clock just started (x_id NULL), and the fence's
-- row when it matched (x_id NULL, target 'fence').
SELECT x_id, id, true, team_id, sla_due_at, NULL::text, NULL::int, NULL::timestamptz FROM inserted
UNION ALL
SELECT x_id, id, false, NULL, NULL, NULL, NULL, NULL FROM existing
UNION ALL
SELECT NULL, mention_id, NULL, NULL, NULL, target, cycle, due_at FROM clocks WHERE %(facts)s
UNION ALL
SELECT NULL, id, NULL, NULL, NULL, 'fence', NULL, NULL FROM fence
"""


class _Statement:
    """A statement PREPAREd once per database connection: parsing and planning ~10 kB of SQL cost ~1 ms a
    page, a tenth of the page. Parameters are declared text and cast in the SQL, except `types`."""

    def __init__(self, name: str, sql: str, types: dict[str, str]) -> None:
        self.sql = sql
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        self.prepare = (
            f"PREPARE {name} ("
            + ", ".join(types.get(n, "text") for n in names)
            + ") AS "
            + re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
        )
        self.execute_sql = (
            f"EXECUTE {name} (" + ", ".join(f"%({n})s" for n in names) + ")"
        )
        # Raw psycopg2 connections that hold it (a prepared statement lives as long as its session,
        # whatever happens to transactions; a new connection is a new object).
        self._prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()

    def execute(
        self,
        cursor: Any,
        params: dict[str, Any],
        while_waiting: Callable[[], None] | None = None,
    ) -> None:
        raw = connection.connection
        if raw not in self._prepared_on:
            cursor.execute(self.prepare)
            self._prepared_on.add(raw)
        if while_waiting is not None:
            while_waiting()
        cursor.execute(self.execute_sql, params)


_AUTHORS_STATEMENT = _Statement(
    "earshot_upsert_authors", _UPSERT_AUTHORS, {"now": "timestamptz"}
)
_PAGE_STATEMENT = _Statement(
    "earshot_store_page",
    _STORE_PAGE,
    {
        "now": "timestamptz",
        "plans": "boolean",
        "facts": "boolean",
        "account": "bigint",
        "stream": "bigint",
        "fence": "boolean",
        "f_lease": "timestamptz",
        "f_since_id": "text",
        "f_backfill": "timestamptz",
        "f_rate_remaining": "integer",
        "f_rate_reset": "timestamptz",
    },
)
_EXECUTE = _PAGE_STATEMENT.execute_sql


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _texts(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of strings (every element quoted, so NULL/braces/commas are literal)."""
    values = values if isinstance(values, list) else list(values)
    if not values:
        return "{}"
    joined = "".join(values)
    if '"' not in joined and "\\" not in joined:  # nothing to escape: two joins in C
        return '{"' + '","'.join(values) + '"}'
    return "{" + ",".join(map(_quote, values)) + "}"


def _scalars(values: Iterable[object]) -> str:
    """An array literal of numbers, booleans and None (NULL)."""
    return (
        "{"
        + ",".join(
            [
                "NULL"
                if v is None
                else ("t" if v else "f")
                if v.__class__ is bool
                else str(v)
                for v in values
            ]
        )
        + "}"
    )


def _dues(
    dues: list[start.Due | None], prefix: str, created: list[datetime]
) -> dict[str, str]:
    # No clock of this target on the page (no policy, no reply, enrichment off): all NULL, which
    # unnest() pads an empty array with.
    if not any(dues):
        return {f"{prefix}_{column}": "{}" for column in _DUE_COLUMNS}
    return {
        f"{prefix}_sec": _scalars([None if d is None else d.seconds for d in dues]),
        f"{prefix}_bus": _scalars([None if d is None else d.business for d in dues]),
        # Instants as microseconds after the post (the statement adds them back).
        f"{prefix}_due": _scalars(
            [
                None if d is None else (d.due_at - at) // _MICROSECOND
                for d, at in zip(dues, created, strict=True)
            ]
        ),
        f"{prefix}_warn": _scalars(
            [
                None if d is None else (d.warning_at - at) // _MICROSECOND
                for d, at in zip(dues, created, strict=True)
            ]
        ),
        f"{prefix}_hint": "{"
        + ",".join(["NULL" if d is None else _quote(d.hint) for d in dues])
        + "}",
    }


_MICROSECOND = timedelta(microseconds=1)
_DUE_COLUMNS = ("sec", "bus", "due", "warn", "hint")


def _author_params(authors: list[InboundAuthor]) -> dict[str, str]:
    complete = {a.x_id: a for a in authors if a.complete}
    placeholders = [a for a in authors if not a.complete and a.x_id not in complete]
    # Sorted so that two workers upserting overlapping authors lock rows in the same order (no deadlock).
    full = sorted(complete.values(), key=lambda a: a.x_id)
    placeholders = sorted(
        {a.x_id: a for a in placeholders}.values(), key=lambda a: a.x_id
    )
    return {
        "a_x_id": _texts(a.x_id for a in full),
        "a_handle": _texts(a.handle for a in full),
        "a_name": _texts(a.name for a in full),
        "a_description": _texts(a.description for a in full),
        "a_followers": _scalars(a.followers_count for a in full),
        "a_verified": _scalars(a.verified for a in full),
        "a_avatar": _texts(a.avatar_url for a in full),
        "p_x_id": _texts(a.x_id for a in placeholders),
        "p_handle": _texts(a.handle for a in placeholders),
        "p_name": _texts(a.name for a in placeholders),
    }


def store_authors(prepared: PreparedPage, *, now: datetime) -> PreparedPage:
    """Upsert the page's authors and return the page with their ids (PostgreSQL's path).

    Authors are profiles, not part of the stream's cursor: an author stored without its mentions (the
    page transaction failed or has not run yet) is harmless, and the next page or poll refreshes it. So
    the poller runs this on its fetch-ahead thread's own connection, each page in its own short
    transaction, while the previous page's statement runs: the database works on both at once (two
    cores), and the page statement takes no author locks. `store_prepared` runs it in the page's
    transaction when the poller did not. A placeholder committed by a racing transaction after this
    statement's snapshot is missing from its answer; a second run (new snapshot) finds it.
    """
    if prepared.author_ids is not None or not prepared.mentions:
        return prepared
    params: dict[str, Any] = dict(
        prepared.author_params or _author_params(prepared.authors)
    )
    params["now"] = now
    ids: dict[str, int] = {}
    needed = {m.author_x_id for m in prepared.mentions}
    with connection.cursor() as cursor:
        for _ in range(3):
            _AUTHORS_STATEMENT.execute(cursor, params)
            ids.update(cursor.fetchall())
            if needed <= ids.keys():
                break
        else:
            raise RuntimeError(
                f"ingest: could not store {len(needed - ids.keys())} author(s) of stream {prepared.stream_id}"
            )
    mention_params = prepared.params
    if mention_params is not None:
        mention_params = mention_params | {
            "author_id": _scalars(ids[m.author_x_id] for m in prepared.mentions)
        }
    return dataclasses.replace(prepared, author_ids=ids, params=mention_params)


def _thread_keys(mentions: list[InboundMention]) -> list[int]:
    """Number each mention's (conversation, author) 1, 2, ...: the statement finds threads by that number."""
    keys: dict[tuple[str, str], int] = {}
    return [
        keys.setdefault((m.conversation_id, m.author_x_id), len(keys) + 1)
        for m in mentions
    ]


def _page_params(
    mentions: list[InboundMention],
    scores: dict[str, scoring.Score] | None,
    plans: dict[str, start.NewPlan | None] | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "x_id": _texts(m.x_id for m in mentions),
        "kind": _texts(m.kind for m in mentions),
        "text": _texts(m.text for m in mentions),
        "lang": _texts(m.lang for m in mentions),
        "created_at": _texts(m.created_at.isoformat() for m in mentions),
        "author_x_id": _texts(m.author_x_id for m in mentions),
        "conversation_id": _texts(m.conversation_id for m in mentions),
        "in_reply_to": _texts(m.in_reply_to_x_id for m in mentions),
        "summons": _scalars(m.summons_brand for m in mentions),
        "thread_key": _scalars(_thread_keys(mentions)),
        "raw": _encode([m.raw for m in mentions]),
    }
    if scores is None:  # the model's defaults: not scored
        n = len(mentions)
        params |= {
            "priority": _scalars([Mention.Priority.NORMAL.value] * n),
            "score": _scalars([0] * n),
            "reasons": "[" + ",".join(["[]"] * n) + "]",
            "sentiment": _scalars([None] * n),
            "monitoring": _scalars([False] * n),
        }
    else:
        page = [scores[m.x_id] for m in mentions]
        params |= {
            "priority": _scalars(s.priority for s in page),
            "score": _scalars(s.points for s in page),
            # One JSON array of the reason lists (one encoder call a page), split by the statement.
            "reasons": _encode([s.reasons_json() for s in page]),
            "sentiment": _scalars(s.sentiment for s in page),
            "monitoring": _scalars(s.is_monitoring_suggested for s in page),
        }
    # A mention without a plan (no policy, a placeholder author, enrichment off) gets NULLs: no clocks.
    planned = [plans.get(m.x_id) if plans else None for m in mentions]
    params["plans"] = any(planned)
    params["policy"] = _scalars(None if p is None else p.policy_id for p in planned)
    created = [m.created_at for m in mentions]
    params |= _dues([None if p is None else p.first for p in planned], "f", created)
    params |= _dues([None if p is None else p.next for p in planned], "n", created)
    params |= _dues(
        [None if p is None else p.resolution for p in planned], "r", created
    )
    return params


def _store_page_postgres(
    prepared: PreparedPage,
    *,
    now: datetime,
    while_waiting: Callable[[], None] | None = None,
    with_facts: bool = True,
    fence: Fence | None = None,
) -> tuple[StoreResult, list[int], dict[int, Any]]:
    """Run the page statement, with the stream's `fence` in its first run.

    Also returns the new mentions whose clocks were not planned ahead (start_clocks starts them), and
    (`with_facts`: some escalation rule is active) the escalation facts of the others
    (`escalation.facts.Facts` by id): exactly what the rules would read back from the rows and clocks
    this statement wrote.
    """
    from mentions.escalation.facts import Clock, Facts

    prepared = store_authors(prepared, now=now)
    assert prepared.author_ids is not None
    author_ids = prepared.author_ids
    created: list[int] = []
    unplanned: list[int] = []
    known: dict[int, Any] = {}
    by_x_id = {m.x_id: m for m in prepared.mentions}
    followers = {a.x_id: a.followers_count for a in prepared.authors if a.complete}
    duplicates = 0
    pending = prepared.mentions
    params = prepared.params
    fence_params = fence.statement_params() if fence is not None else None
    fenced: bool | None = None
    with connection.cursor() as cursor:
        # Two runs suffice: the second one's snapshot sees every row a racing transaction committed
        # (ON CONFLICT in the first run waited for it). A third is a guard, not an expected path.
        for _ in range(3):
            if params is None:
                params = _page_params(
                    pending,
                    prepared.scores,
                    prepared.plans if prepared.enrich else None,
                )
                params["author_id"] = _scalars(
                    author_ids[m.author_x_id] for m in pending
                )
            params |= {
                "account": prepared.account_id,
                "stream": prepared.stream_id,
                "now": now,
                "status": Mention.Status.NEW.value,
                "facts": with_facts,
            }
            params |= fence_params or _NO_FENCE
            _PAGE_STATEMENT.execute(cursor, params, while_waiting)
            while_waiting = None  # a second run is short: the next page is on its way
            answered: set[str] = set()
            rows = cursor.fetchall()
            started: dict[int, list[Clock]] = {}
            for x_id, pk, _, _, _, target, cycle, due_at in rows:
                if x_id is not None:
                    continue
                if target == _FENCE_MARK:
                    fenced = True
                else:  # a clock this statement started
                    started.setdefault(pk, []).append(
                        Clock(target, cycle, "active", due_at, False)
                    )
            if fence_params is not None:
                fence_params = (
                    None  # applied (or not) once: a second run only stores the rest
                )
                if not fenced:
                    return (
                        StoreResult(created=0, duplicates=0, fenced=False),
                        [],
                        {},
                    )
            for x_id, pk, was_created, team_id, due, *_ in rows:
                if x_id is None:
                    continue
                answered.add(x_id)
                if not was_created:
                    duplicates += 1
                    continue
                created.append(pk)
                if not prepared.enrich:
                    continue
                if x_id not in prepared.plans:
                    unplanned.append(pk)
                    continue
                if not with_facts:
                    continue
                m = by_x_id[x_id]
                if m.author_x_id not in followers:
                    continue  # a placeholder author: the rules read the stored profile
                score = prepared.scores[x_id] if prepared.scores else None
                known[pk] = Facts(
                    id=pk,
                    status=Mention.Status.NEW.value,
                    priority=score.priority if score else Mention.Priority.NORMAL.value,
                    sentiment=score.sentiment if score else None,
                    followers=followers[m.author_x_id],
                    text=m.text,
                    team_id=team_id,
                    assignee_id=None,
                    created_at=m.created_at,
                    sla_due_at=due,
                    stream_ids={prepared.stream_id},
                    clocks=started.get(pk, []),
                    last_assignment_at=None,
                )
            pending = [m for m in pending if m.x_id not in answered]
            if not pending:
                break
            params = None
        else:
            raise RuntimeError(
                f"ingest: could not store {len(pending)} mention(s) of stream {prepared.stream_id}"
            )
    if fence is not None and fenced is None:  # fields the statement does not set
        fenced = fence.apply_orm()
    return (
        StoreResult(
            created=len(created),
            duplicates=duplicates,
            new_ids=tuple(created),
            fenced=fenced,
        ),
        unplanned,
        known,
    )
