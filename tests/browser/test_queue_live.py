"""In Chromium: new mentions appear in an open queue without a reload, and hostile text stays text."""

from __future__ import annotations

import pytest

from mentions import polling
from mentions.sandbox import services as sandbox
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
NAME_PAYLOAD = (
    '<img src=x onerror="window.pwned=3">'  # X display names hold at most 50 characters
)


def test_a_new_mention_appears_in_the_open_queue_without_a_reload(
    page, live_server, brand, agent
):
    login(page, live_server.url, agent.username)
    page.evaluate("window.notReloaded = true")
    customer = sandbox.create_user("grumpy", "Grumpy Customer", followers_count=1200)
    sandbox.create_post(customer, "@AcmeSupport my parcel is a week late, order 55120")

    polling.poll_stream(brand["streams"]["mentions"].pk)

    row = page.locator("#mention-rows tr", has_text="my parcel is a week late")
    row.wait_for(timeout=5000)
    assert page.evaluate("window.notReloaded") is True
    assert "Grumpy Customer" in row.inner_text()
    screenshot(page, "queue-live-update")
    assert page.console_errors == []


def test_hostile_text_and_names_render_as_text_and_never_run(
    page, live_server, brand, agent
):
    customer = sandbox.create_user("h4x", NAME_PAYLOAD, followers_count=3)
    sandbox.create_post(customer, f"@AcmeSupport {PAYLOAD}")
    polling.poll_stream(brand["streams"]["mentions"].pk)
    login(page, live_server.url, agent.username)

    row = page.locator("#mention-rows tr").first
    assert PAYLOAD in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_selector(".thread")

    assert PAYLOAD in page.locator(".thread").inner_text()
    assert NAME_PAYLOAD in page.locator("h1").inner_text()
    assert page.evaluate("window.pwned") is None
    assert page.locator(".thread img").count() == 0
    screenshot(page, "mention-hostile-text")
