"""CSV exports: streamed, same figures and scope as the page."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from mentions.dashboard import export
from mentions.dashboard.views import TABLE_EXPORTS

RANGE = "from=2026-03-27&to=2026-03-30"


def read(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_mention_rows_stream_one_row_per_mention_with_its_clocks(
    client, manager, world
):
    client.force_login(manager)
    response = client.get(reverse("dashboard:export", args=["mentions"]) + f"?{RANGE}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="earshot-mentions-2026-03-27-2026-03-30.csv"'
        in response["Content-Disposition"]
    )
    rows = read(response)
    header, body = rows[0], rows[1:]
    assert header == export.MENTION_HEADER
    order = [1, 2, 3, 4, "4b", 5, 6, "6b"]
    assert [int(r[0]) for r in body] == [world["m"][i].pk for i in order]
    m2 = dict(zip(header, body[1], strict=True))
    assert m2["kind"] == "dm"
    assert (
        float(m2["first_response_s"]) == 234000
    )  # the DST-crossing stop - start fallback
    assert m2["created_at"] == "2026-03-27T15:00:00+00:00"
    assert float(m2["detection_lag_s"]) == pytest.approx(90)


def test_the_clock_rows_behind_the_sla_figures(client, manager, world):
    client.force_login(manager)
    url = (
        reverse("dashboard:export", args=["clocks-first_response"])
        + f"?{RANGE}&time=business"
    )
    rows = read(client.get(url))
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert len(body) == 6  # M1..M6, the cancelled one too (its state says so)
    assert sorted(r["state"] for r in body) == [
        "breached",
        "cancelled",
        "met",
        "met",
        "met",
        "met",
    ]
    assert [
        float(r["duration_s"]) for r in body if r["mention_id"] == str(world["m"][2].pk)
    ] == [7200]


@pytest.mark.parametrize("name", TABLE_EXPORTS)
def test_every_table_exports(client, manager, world, name):
    client.force_login(manager)
    rows = read(client.get(reverse("dashboard:export", args=[name]) + f"?{RANGE}"))
    assert len(rows) >= 2
    assert all(len(r) == len(rows[0]) for r in rows)


def test_the_sla_table_export_has_the_page_figures(client, manager, world):
    client.force_login(manager)
    rows = read(client.get(reverse("dashboard:export", args=["sla"]) + f"?{RANGE}"))
    fr = dict(zip(rows[0], rows[1], strict=True))
    assert (fr["target"], fr["met_on_time"], fr["met_late"], fr["breached_open"]) == (
        "first_response", "3", "1", "1"
    )  # fmt: skip
    assert (float(fr["median_s"]), float(fr["compliance_pct"])) == (1200.0, 60.0)


def test_an_agent_exports_only_their_own_rows(agent_client, world):
    rows = read(
        agent_client.get(reverse("dashboard:export", args=["mentions"]) + f"?{RANGE}")
    )
    assert {int(r[0]) for r in rows[1:]} == {world["m"][i].pk for i in (1, 4, "4b", 6)}
    rows = read(
        agent_client.get(reverse("dashboard:export", args=["agents"]) + f"?{RANGE}")
    )
    assert [r[1] for r in rows[1:]] == ["Alice"]
    assert (
        agent_client.get(
            reverse("dashboard:export", args=["teams"]) + f"?{RANGE}"
        ).status_code
        == 404
    )


def test_unknown_exports_and_bad_filters_are_refused(client, manager):
    client.force_login(manager)
    assert client.get(reverse("dashboard:export", args=["nope"])).status_code == 404
    assert (
        client.get(reverse("dashboard:export", args=["clocks-nope"])).status_code == 404
    )
    response = client.get(
        reverse("dashboard:export", args=["mentions"])
        + "?from=2026-03-30&to=2026-03-01"
    )
    assert response.status_code == 400
    assert "starts after it ends" in response.content.decode()


def test_spreadsheet_formulas_in_text_are_defused():
    assert export.cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert export.cell(-0.5) == -0.5


@pytest.mark.postgres
def test_the_mention_rows_are_read_through_a_server_side_cursor(
    client, manager, world, monkeypatch
):
    """On PostgreSQL the rows come from a named cursor, CHUNK at a time (flat memory)."""
    from django.db import connection

    monkeypatch.setattr(export, "CHUNK", 2)
    names = []
    original = connection.chunked_cursor

    def spy():
        cursor = original()
        names.append(cursor.cursor.name)
        return cursor

    monkeypatch.setattr(connection, "chunked_cursor", spy)
    client.force_login(manager)
    rows = read(
        client.get(reverse("dashboard:export", args=["mentions"]) + f"?{RANGE}")
    )
    assert len(rows) == 9
    assert names
    assert names[0]
