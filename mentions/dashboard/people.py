"""Per-agent and per-team figures: one grouped query over the mentions posted in the range.

A mention is attributed to the agent who gave its first answer (the first-response clock's
`stopped_by`), or, while nobody has answered, to its assignee; to a team by `Mention.team`.
"""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth.models import User

from mentions.dashboard import sql
from mentions.dashboard.figures import PeopleRow
from mentions.dashboard.filters import (
    CLOCK,
    MENTION,
    DashboardFilters,
    db_datetime,
    mention_range,
)
from mentions.dashboard.measures import clock_seconds, durations, durations_sql
from mentions.models import Team


def _outcomes(alias: str) -> dict[str, str]:
    return {
        "stopped": f"{alias}.stopped_at IS NOT NULL AND {alias}.state <> 'cancelled'",
        "on_time": f"{alias}.stopped_at IS NOT NULL AND {alias}.state = 'met' AND NOT {alias}.is_late",
        "late": f"{alias}.stopped_at IS NOT NULL AND {alias}.state <> 'cancelled'"
        f" AND ({alias}.state <> 'met' OR {alias}.is_late)",
        "breached_open": f"{alias}.stopped_at IS NULL AND {alias}.state = 'breached'",
        "active": f"{alias}.stopped_at IS NULL AND {alias}.state IN ('active', 'paused')",
    }


AGENT_KEY = "COALESCE(fr.stopped_by_id, m.assignee_id)"
TEAM_KEY = "m.team_id"


def _select(f: DashboardFilters, keys: str, group_by: str) -> tuple[str, list[Any]]:
    """The per-mention join and its aggregates, grouped by `group_by` (columns: keys, then figures).

    Mentions set to monitoring or spam (cancelled clocks, no answer needed) are not "handled".
    """
    where, where_params = mention_range(f)
    # First-response and resolution (cycle 1) clocks start at the post's created_at, so the same range
    # on the clocks lets each join read only the range from the report index, not the whole history.
    span = [db_datetime(f.start_at), db_datetime(f.end_at)]
    fr, res = _outcomes("fr"), _outcomes("res")
    query = (
        f"SELECT {keys}, COUNT(*),"  # noqa: S608 (constant fragments; values are parameters)
        f" {durations_sql(clock_seconds(f, 'fr'), fr['stopped'])},"
        f" COUNT(*) FILTER (WHERE {fr['on_time']}), COUNT(*) FILTER (WHERE {fr['late']}),"
        f" COUNT(*) FILTER (WHERE {fr['breached_open']}), COUNT(*) FILTER (WHERE {fr['active']}),"
        f" {durations_sql(clock_seconds(f, 'res'), res['stopped'])}"
        f" FROM {MENTION} m"
        f" LEFT JOIN {CLOCK} fr ON fr.mention_id = m.id AND fr.target = 'first_response'"
        f" AND fr.cycle = 1 AND fr.started_at >= %s AND fr.started_at < %s"
        f" LEFT JOIN {CLOCK} res ON res.mention_id = m.id AND res.target = 'resolution'"
        f" AND res.cycle = 1 AND res.started_at >= %s AND res.started_at < %s"
        f" WHERE {where} AND m.status NOT IN ('monitoring', 'spam')"
        f" GROUP BY {group_by}"
    )
    return query, [*span, *span, *where_params]


def people_names(
    ids: list[int], by: Literal["agent", "team"]
) -> tuple[dict[int, str], str]:
    """Labels of the keys, and the label of the None key."""
    if by == "agent":
        names = {
            u.pk: (u.get_full_name() or u.get_username())
            for u in User.objects.filter(pk__in=ids)
        }
        return names, "Unassigned, unanswered"
    return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name")), "No team"


def label_of(key: int | None, names: dict[int, str], nobody: str) -> str:
    return names.get(key, f"#{key}") if key is not None else nobody


def sort_people(rows: list[PeopleRow]) -> list[PeopleRow]:
    return sorted(rows, key=lambda p: (p.key is None, -p.handled, p.label))


def _rows(rows: list[tuple[Any, ...]], by: Literal["agent", "team"]) -> list[PeopleRow]:
    """Name and sort the grouped rows (key first, then the figures of `_select`)."""
    names, nobody = people_names([r[0] for r in rows if r[0] is not None], by)
    return sort_people(
        [
            PeopleRow(
                key=r[0],
                label=label_of(r[0], names, nobody),
                handled=int(r[1]),
                first_response=durations(r[2:5]),
                on_time=int(r[5]),
                late=int(r[6]),
                breached_open=int(r[7]),
                active=int(r[8]),
                resolution=durations(r[9:12]),
            )
            for r in rows
        ]
    )


def people_rows(
    f: DashboardFilters,
    *,
    by: Literal["agent", "team"],
    only_agent: int | None = None,
) -> list[PeopleRow]:
    """Handled mentions, first-response median/p90 and SLA outcomes, resolution median/p90 per key."""
    key = AGENT_KEY if by == "agent" else TEAM_KEY
    query, params = _select(f, key, key)
    if only_agent is not None:
        query += f" HAVING {key} = %s"
        params.append(only_agent)
    return _rows(sql.run(query, params), by)


def people_tables(f: DashboardFilters) -> tuple[list[PeopleRow], list[PeopleRow]]:
    """Per agent and per team. PostgreSQL computes both from one join (GROUPING SETS)."""
    if not sql.is_postgres():
        return people_rows(f, by="agent"), people_rows(f, by="team")
    query, params = _select(
        f,
        f"GROUPING({AGENT_KEY}, {TEAM_KEY}), {AGENT_KEY}, {TEAM_KEY}",
        f"GROUPING SETS (({AGENT_KEY}), ({TEAM_KEY}))",
    )
    rows = sql.run(query, params)
    # GROUPING() is 1 on the agent rows (the team is not grouped) and 2 on the team rows.
    agents = [(r[1], *r[3:]) for r in rows if r[0] == 1]
    teams = [(r[2], *r[3:]) for r in rows if r[0] == 2]
    return _rows(agents, "agent"), _rows(teams, "team")
