"""In Chromium: the workspace's history, details and the author's earlier mentions load as they come
into view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mentions import triage
from tests.browser.conftest import login, screenshot
from tests.mentions.queue_helpers import fresh_cache, make_mention  # noqa: F401  (autouse)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.pwned=1">'


def test_history_details_and_earlier_mentions_load_when_scrolled_into_view(
    page, live_server, brand, agent
):
    account = brand["account"]
    earlier = make_mention(
        account,
        text=f"last week's parcel {PAYLOAD}",
        handle="loyal",
        created_at=timezone.now() - timedelta(days=7),
    )
    mention = make_mention(account, text="parcel late again", author=earlier.author)
    triage.assign_mention(mention, assignee=agent, actor=agent, now=timezone.now())
    login(page, live_server.url, agent.username)

    page.goto(f"{live_server.url}/mentions/{mention.pk}/")

    def reveal(part: str) -> None:
        # By id at the moment of scrolling: a part already revealed may be swapped (outerHTML) at any
        # time, and a handle resolved just before would point at the detached placeholder.
        page.evaluate("id => document.getElementById(id).scrollIntoView()", part)

    reveal("author-earlier")
    page.locator("#author-earlier").get_by_text("1 earlier mention").wait_for(
        timeout=8000
    )
    reveal("details")
    page.locator("#details").get_by_text("Priority score").wait_for(timeout=8000)
    reveal("history")
    page.locator("#history").get_by_text("assigned it to alice").wait_for(timeout=8000)

    assert f"last week's parcel {PAYLOAD}" in page.inner_text("#author-earlier")
    assert page.evaluate("window.pwned") is None
    # The keyboard still works on the completed page.
    page.keyboard.press("?")
    assert page.locator("#cheatsheet").is_visible()
    screenshot(page, "workspace-lazy-parts")
    assert page.console_errors == []
