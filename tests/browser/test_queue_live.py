"""In Chromium: new mentions appear in an open queue without a reload, keeping what the agent was doing;
hostile text stays text in the queue and the workspace."""

from __future__ import annotations

import pytest

from mentions import polling
from mentions.sandbox import services as sandbox
from tests.browser.conftest import login, screenshot
from tests.mentions.queue_helpers import fresh_cache, make_mention  # noqa: F401  (autouse)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
NAME_PAYLOAD = (
    '<img src=x onerror="window.pwned=3">'  # X display names hold at most 50 characters
)
BIO_PAYLOAD = (
    '<svg onload="window.pwned=4"></svg><a href="javascript:window.pwned=5">x</a>'
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


def test_a_live_arrival_keeps_the_search_text_scroll_position_and_selection(
    page, live_server, brand, agent
):
    for n in range(40):
        make_mention(brand["account"], text=f"parcel question number {n}")
    login(page, live_server.url, agent.username)
    page.fill("#q", "parcel")
    page.wait_for_function("location.search === '?q=parcel'")
    page.locator("#mention-rows tr", has_text="parcel question number 39").wait_for()
    page.evaluate("window.notReloaded = true")
    page.locator("#mention-rows tr", has_text="number 20").locator(
        "input[name=ids]"
    ).check()
    page.fill("#bulk-tags", "half-typ")
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_timeout(300)
    anchor_id, anchor_top = page.evaluate(
        """() => { const r = [...document.querySelectorAll('#mention-rows tr')]
                     .find(tr => tr.getBoundingClientRect().top >= 0);
                   return [r.id, r.getBoundingClientRect().top]; }"""
    )

    customer = sandbox.create_user("latecomer", "Late Comer")
    sandbox.create_post(customer, "@AcmeSupport where is my parcel??")
    polling.poll_stream(brand["streams"]["mentions"].pk)

    page.locator("#mention-rows tr", has_text="where is my parcel??").wait_for(
        state="attached", timeout=5000
    )
    assert page.evaluate("window.notReloaded") is True
    assert page.input_value("#q") == "parcel"
    assert page.input_value("#bulk-tags") == "half-typ"
    assert (
        page.locator("#mention-rows tr", has_text="number 20")
        .locator("input[name=ids]")
        .is_checked()
    )
    assert page.inner_text("#selected-count") == "1"
    new_top = page.evaluate(
        f"document.getElementById('{anchor_id}').getBoundingClientRect().top"
    )
    assert abs(new_top - anchor_top) <= 2  # what the agent was reading did not move
    assert page.evaluate("window.scrollY") > 0
    screenshot(page, "queue-live-keeps-state")
    assert page.console_errors == []


def test_another_agents_change_shows_up_without_a_reload(
    page, live_server, brand, agent, manager
):
    from django.utils import timezone

    from mentions import triage

    mention = make_mention(brand["account"], text="please call me back")
    login(page, live_server.url, agent.username)
    page.evaluate("window.notReloaded = true")

    triage.assign_mention(mention, assignee=manager, actor=manager, now=timezone.now())

    row = page.locator(f"#mention-{mention.pk}")
    page.wait_for_function(
        f"document.querySelector('#mention-{mention.pk} .assignee').innerText.includes('bob')",
        timeout=5000,
    )
    assert "Open" in row.inner_text()
    assert page.evaluate("window.notReloaded") is True


def test_hostile_text_and_names_render_as_text_and_never_run(
    page, live_server, brand, agent
):
    customer = sandbox.create_user(
        "h4x", NAME_PAYLOAD, followers_count=3, description=BIO_PAYLOAD
    )
    sandbox.create_post(customer, f"@AcmeSupport {PAYLOAD}")
    polling.poll_stream(brand["streams"]["mentions"].pk)
    login(page, live_server.url, agent.username)

    row = page.locator("#mention-rows tr").first
    assert PAYLOAD in row.inner_text()
    assert NAME_PAYLOAD in row.inner_text()
    assert page.locator("#mention-rows img, #mention-rows script").count() == 0
    row.locator("a").first.click()
    page.wait_for_selector("#timeline")

    assert PAYLOAD in page.locator("#timeline").inner_text()
    assert NAME_PAYLOAD in page.locator("h1").inner_text()
    assert BIO_PAYLOAD in page.locator(".author-card").inner_text()
    page.keyboard.press(
        "?"
    )  # the shortcuts and presence keep running over the hostile page
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None
    assert (
        page.locator(
            "#timeline img, .author-card svg, .author-card a[href^=javascript]"
        ).count()
        == 0
    )
    screenshot(page, "mention-hostile-text")
