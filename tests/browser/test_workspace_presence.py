"""In Chromium, two agents on one mention: each sees the other viewing, then typing."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.browser.conftest import login, screenshot
from tests.mentions.queue_helpers import fresh_cache, make_mention  # noqa: F401  (autouse)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()


def test_agents_see_who_else_is_viewing_and_typing(
    page, second_page, live_server, brand, agent, manager
):
    cache.clear()
    mention = make_mention(brand["account"], text="my card was charged twice")
    url = f"{live_server.url}/mentions/{mention.pk}/"
    login(page, live_server.url, agent.username)  # Alice
    login(second_page, live_server.url, manager.username)  # Bob
    page.goto(url)

    second_page.goto(url)
    presence_b = second_page.locator("#presence")
    presence_b.get_by_text("Alice is viewing").wait_for(timeout=8000)
    page.locator("#presence").get_by_text("Bob is viewing").wait_for(timeout=8000)

    page.click("#note-body")
    page.keyboard.type("drafting a note about the double charge", delay=20)

    presence_b.get_by_text("Alice is typing…").wait_for(timeout=8000)
    screenshot(second_page, "workspace-presence-typing")
    assert "Bob" not in presence_b.inner_text()  # nobody is shown to themselves

    page.close()  # Alice leaves: her heartbeats stop, and her typing state lapses first
    presence_b.get_by_text("Alice is viewing").wait_for(timeout=15000)
    assert page.console_errors == []
    assert second_page.console_errors == []
