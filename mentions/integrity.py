"""Orphan check for the relations ingest writes without database foreign keys (see Mention.account).

The SLA clocks ingest writes (SlaClock.mention, SlaClock.policy) are checked too.

`orphans()` counts, per relation, the rows whose referenced row is missing. Every count is 0 unless
something wrote around the application (a raw DELETE, a restore of some tables only): the nightly
`manage.py checkintegrity` (or a monitoring probe) reports it instead of letting it go unnoticed.
Each check is one anti-join that PostgreSQL runs as a hash or merge anti-join over the two tables.
"""

from __future__ import annotations

from django.db import connection

# (relation, child table, column, parent table)
RELATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("mention.account", "mentions_mention", "account_id", "mentions_xaccount"),
    ("mention.author", "mentions_mention", "author_id", "mentions_author"),
    ("mention.thread", "mentions_mention", "thread_id", "mentions_thread"),
    ("mention.team", "mentions_mention", "team_id", "mentions_team"),
    ("thread.author", "mentions_thread", "author_id", "mentions_author"),
    (
        "mentionstream.mention",
        "mentions_mentionstream",
        "mention_id",
        "mentions_mention",
    ),
    ("mentionstream.stream", "mentions_mentionstream", "stream_id", "mentions_stream"),
    ("slaclock.mention", "sla_slaclock", "mention_id", "mentions_mention"),
    ("slaclock.policy", "sla_slaclock", "policy_id", "sla_slapolicy"),
)


def orphans() -> dict[str, int]:
    """Rows per relation whose parent row does not exist (NULL references are not orphans)."""
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for name, child, column, parent in RELATIONS:
            cursor.execute(
                f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL "  # noqa: S608 - names are constants above
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
            )
            counts[name] = int(cursor.fetchone()[0])
    return counts
