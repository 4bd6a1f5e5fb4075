"""The issue's whole flow in Chromium, keyboard first: a customer posts in the sandbox → the mention
appears in the open queue without a reload → the agent claims it and opens the reply composer with the
keyboard → replies with a canned response → the reply is in the sandbox thread."""

from __future__ import annotations

import pytest

from mentions import polling
from mentions.models import Mention
from mentions.sandbox import services as sandbox
from mentions.sandbox.models import SandboxPost
from responders.models import CannedResponse, GuardSettings
from tests.browser.conftest import login, screenshot
from tests.browser.test_composer import delivery_worker  # noqa: F401  # fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_post_is_claimed_and_answered_from_the_keyboard(
    page,
    live_server,
    brand,
    agent,
    delivery_worker,  # noqa: F811
):
    GuardSettings.objects.update_or_create(pk=1, defaults={"undo_seconds": 2})
    CannedResponse.objects.create(
        title="Looking into it",
        body="Hi {{ author.handle }}, {{ agent.first_name }} from {{ brand.handle }} here: we're on it.",
    )
    login(page, live_server.url, agent.username)
    page.evaluate("window.notReloaded = true")

    customer = sandbox.create_user("hank", "Hank Customer")
    post = sandbox.create_post(
        customer, "@AcmeSupport the app logs me out every minute"
    )
    polling.poll_stream(brand["streams"]["mentions"].pk)
    row = page.locator("#mention-rows tr", has_text="logs me out every minute")
    row.wait_for(timeout=8000)
    assert page.evaluate("window.notReloaded") is True

    page.keyboard.press("j")
    page.keyboard.press("a")  # claim
    mention = Mention.objects.get(x_id=post.x_id)
    page.wait_for_function(
        "() => document.querySelector('#mention-rows') && "
        "document.querySelector('#mention-rows').innerText.includes('alice')",
        timeout=8000,
    )
    page.keyboard.press("r")  # open the workspace with the reply composer
    page.wait_for_selector("#reply-text:focus", timeout=8000)
    mention.refresh_from_db()
    assert mention.assignee == agent

    page.select_option(
        "[data-composer-pane=reply] [data-canned-select]", label="Looking into it"
    )
    page.focus("[data-composer-pane=reply] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".outbound[data-state=sent] a.sent-link", timeout=15000)
    thread = sandbox.thread_for(post)
    ours = [p for p in thread if p.author_id == brand["user"].pk]
    assert [p.text for p in ours] == [
        "Hi @hank, Alice from @AcmeSupport here: we're on it."
    ]
    assert SandboxPost.objects.filter(author=brand["user"]).count() == 1
    screenshot(page, "composer-keyboard-flow")
    assert page.console_errors == []
