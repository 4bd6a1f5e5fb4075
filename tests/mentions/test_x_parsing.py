"""Parsing X v2 pages: malformed items are reported by id, the rest is kept (no database needed)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mentions.sources.x import parse_dm_page, parse_posts_page, parse_x_time

PAYLOADS = Path(__file__).parent / "payloads"


def _page():
    payload = json.loads((PAYLOADS / "search_page_malformed.json").read_text())
    return parse_posts_page(payload, brand_id="42", brand_handle="AcmeSupport")


def test_it_keeps_the_well_formed_posts():
    page = _page()

    assert [m.x_id for m in page.mentions] == [
        "1800000000000000001",
        "1800000000000000006",
        "1800000000000000007",
    ]


def test_it_reports_malformed_posts_by_id():
    page = _page()

    assert {bad.x_id for bad in page.bad} == {
        "1800000000000000002",
        "1800000000000000003",
        "1800000000000000004",
    }


def test_it_logs_each_malformed_post_with_its_id(caplog):
    with caplog.at_level(logging.WARNING, logger="mentions.sources.x"):
        _page()

    assert "1800000000000000003" in caplog.text
    assert "yesterday at noon" in caplog.text


def test_it_drops_the_brands_own_posts():
    page = _page()

    assert page.skipped_own == 1
    assert "1800000000000000005" not in {m.x_id for m in page.mentions}


def test_it_detects_posts_that_mention_or_quote_the_brand():
    summons = {m.x_id: m.summons_brand for m in _page().mentions}

    assert summons == {
        "1800000000000000001": True,
        "1800000000000000006": False,
        "1800000000000000007": True,
    }


def test_it_keeps_partial_errors_and_the_cursor_fields():
    page = _page()

    assert len(page.partial_errors) == 1
    assert (page.newest_id, page.oldest_id, page.next_token) == (
        "1800000000000000007",
        "1800000000000000001",
        "abc",
    )


def test_it_keeps_author_names_verbatim_for_the_templates_to_escape():
    authors = {a.x_id: a for a in _page().authors}

    assert authors["501"].name == "Jo <script>alert(1)</script>"
    assert authors["503"].followers_count == 98000
    assert authors["503"].verified is True


def test_a_missing_user_profile_gives_a_placeholder_that_never_overwrites():
    payload = {
        "data": [
            {
                "id": "9",
                "text": "hi",
                "created_at": "2026-01-01T00:00:00.000Z",
                "author_id": "77",
            }
        ],
        "meta": {"result_count": 1, "newest_id": "9", "oldest_id": "9"},
    }

    page = parse_posts_page(payload, brand_id="42", brand_handle="Acme")

    assert [(a.x_id, a.complete) for a in page.authors] == [("77", False)]


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T10:00:00.000Z",
        "2026-11-20T10:00:00Z",
        "2026-11-20T11:00:00.000+01:00",
    ],
)
def test_it_parses_x_times_to_utc(value):
    assert parse_x_time(value) == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-11-20T10:00:00", "yesterday", None, 17])
def test_it_refuses_times_without_a_zone_or_not_times_at_all(value):
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError is the contract
        parse_x_time(value)


def test_dm_pages_drop_the_brands_messages_and_derive_the_cursor():
    payload = {
        "data": [
            {
                "id": "30",
                "event_type": "MessageCreate",
                "text": "we replied",
                "sender_id": "42",
                "dm_conversation_id": "42-77",
                "created_at": "2026-11-20T10:02:00.000Z",
            },
            {
                "id": "20",
                "event_type": "MessageCreate",
                "text": "help",
                "sender_id": "77",
                "dm_conversation_id": "42-77",
                "created_at": "2026-11-20T10:01:00.000Z",
            },
            {
                "id": "10",
                "event_type": "ParticipantsJoin",
                "created_at": "2026-11-20T10:00:00.000Z",
            },
        ],
        "includes": {"users": [{"id": "77", "name": "Kim", "username": "kim"}]},
        "meta": {"result_count": 3},
    }

    page = parse_dm_page(payload, brand_id="42")

    assert [m.x_id for m in page.mentions] == ["20"]
    assert page.mentions[0].conversation_id == "42-77"
    assert (page.newest_id, page.oldest_id) == ("30", "10")
