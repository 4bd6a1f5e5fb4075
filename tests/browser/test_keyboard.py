"""In Chromium: the queue and the workspace work from the keyboard alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mentions.models import Mention
from tests.browser.conftest import login, screenshot
from tests.mentions.queue_helpers import fresh_cache, make_mention  # noqa: F401  (autouse)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def three(brand):
    now = timezone.now()
    return [
        make_mention(
            brand["account"],
            text=f"keyboard mention {n}",
            created_at=now - timedelta(hours=3 - n),
            summons_brand=True,
        )
        for n in range(3)
    ]


def current_id(page) -> str | None:
    return page.evaluate(
        "document.querySelector('#mention-rows tr.current')?.dataset.id ?? null"
    )


def test_j_k_move_a_claims_x_resolves_and_enter_opens(page, live_server, agent, three):
    login(page, live_server.url, agent.username)
    first, second, third = three

    page.keyboard.press("j")
    assert current_id(page) == str(first.pk)
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert current_id(page) == str(third.pk)
    page.keyboard.press("k")
    assert current_id(page) == str(second.pk)
    # The focus is visible: the current row has an outline and its link has the focus.
    assert (
        page.evaluate("document.activeElement.closest('tr')?.id")
        == f"mention-{second.pk}"
    )

    page.keyboard.press("a")
    page.wait_for_function(
        f"document.querySelector('#mention-{second.pk} .assignee').innerText.includes('alice')",
        timeout=5000,
    )
    second.refresh_from_db()
    assert second.assignee == agent
    assert second.status == Mention.Status.OPEN
    screenshot(page, "queue-keyboard-claimed")

    page.keyboard.press("k")
    page.keyboard.press("x")
    page.locator(f"#mention-{first.pk}").wait_for(state="detached", timeout=5000)
    first.refresh_from_db()
    assert first.status == Mention.Status.RESOLVED
    assert first.events.filter(kind="status", actor=agent).count() == 1

    page.wait_for_timeout(100)
    target = current_id(page) or str(second.pk)
    if current_id(page) is None:
        page.keyboard.press("j")
        target = current_id(page)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/mentions/{target}/")
    assert page.locator("#timeline").is_visible()


def test_slash_focuses_search_and_question_mark_shows_the_cheat_sheet(
    page, live_server, agent, three
):
    login(page, live_server.url, agent.username)

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("mention 2")
    page.wait_for_function(
        "new URLSearchParams(location.search).get('q') === 'mention 2'"
    )
    page.locator("#mention-rows tr.mention-row").first.wait_for()
    page.wait_for_function(
        "document.querySelectorAll('#mention-rows tr.mention-row').length === 1"
    )
    page.keyboard.press("Escape")
    assert page.input_value("#q") == "mention 2"  # Esc leaves the box, keeping the text
    page.keyboard.press("?")
    assert page.locator("#cheatsheet").is_visible()
    screenshot(page, "queue-cheatsheet")
    page.keyboard.press("Escape")
    assert not page.locator("#cheatsheet").is_visible()

    page.go_back()  # the filter lives in the URL: back restores the unfiltered queue
    page.wait_for_function("location.search === ''")
    page.wait_for_function(
        "document.querySelectorAll('#mention-rows tr.mention-row').length === 3"
    )


def test_space_selects_rows_for_a_bulk_action(page, live_server, agent, three):
    login(page, live_server.url, agent.username)

    page.keyboard.press("j")
    page.keyboard.press(" ")
    page.keyboard.press("j")
    page.keyboard.press(" ")
    assert page.inner_text("#selected-count") == "2"
    page.select_option("#bulk-form select[name=priority]", "4")
    page.click("#bulk-form button[value=priority]")
    page.wait_for_selector("#bulk-result.ok")

    assert "Priority set to Urgent: 2 mentions." in page.inner_text("#bulk-result")
    assert sorted(Mention.objects.values_list("priority", flat=True)) == [2, 4, 4]


def test_the_workspace_keys_claim_resolve_and_open_the_composer(
    page, live_server, agent, three
):
    mention = three[0]
    login(page, live_server.url, agent.username)
    page.goto(f"{live_server.url}/mentions/{mention.pk}/")

    page.keyboard.press("a")
    page.wait_for_function(
        "document.getElementById('current-assignee').innerText === 'alice'"
    )
    assert "assigned it to alice" in page.inner_text("#history")

    if page.locator(
        "#composer [data-composer-channel]"
    ).count() or page.wait_for_selector(
        "#composer [data-composer-channel='dm']", timeout=5000
    ):
        page.keyboard.press("d")
        page.wait_for_function(
            "document.activeElement && document.activeElement.closest('#composer') !== null"
        )

    page.keyboard.press("Escape")
    page.keyboard.press("x")
    page.wait_for_function(
        "document.getElementById('current-status').innerText === 'Resolved'"
    )
    mention.refresh_from_db()
    assert mention.status == Mention.Status.RESOLVED
    screenshot(page, "workspace-keyboard")

    page.keyboard.press("u")
    page.wait_for_url(f"{live_server.url}/mentions/")
