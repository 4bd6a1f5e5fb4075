"""In Chromium: the composer on the mention workspace (and its own page), driven like an agent would.

No Celery worker runs here: `delivery_worker` is a thread that calls the same service the task calls,
for every released row, the way a worker on the delivery queue would.
"""

from __future__ import annotations

import threading
import time
from email import message_from_bytes

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from mentions import polling
from mentions.models import Mention
from mentions.sandbox import services as sandbox
from mentions.sandbox.models import SandboxPost
from responders import delivery
from responders.models import CannedResponse, GuardSettings, Handoff, Outbound
from responders.text import weighted_length
from tests.browser.conftest import login, screenshot
from tests.responders.conftest import smtp_inbox  # noqa: F401  # fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def delivery_worker():
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                now = timezone.now()
                ready = Outbound.objects.filter(state="queued", release_at__lte=now)
                for pk in ready.values_list("pk", flat=True):
                    delivery.deliver_outbound(pk, now=now, owner="browser-test-worker")
                time.sleep(0.2)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def customer_mention(brand):
    GuardSettings.objects.update_or_create(pk=1, defaults={"undo_seconds": 3})
    customer = sandbox.create_user("dana", "Dana Customer")
    post = sandbox.create_post(
        customer, "@AcmeSupport my parcel never arrived, order 55120"
    )
    polling.poll_stream(brand["streams"]["mentions"].pk)
    mention = Mention.objects.get(x_id=post.x_id)
    return {"mention": mention, "post": post, "customer": customer, **brand}


def open_workspace(page, base: str, mention: Mention) -> None:
    page.goto(base + reverse("mentions:detail", args=[mention.pk]))
    page.wait_for_selector("#composer-panel")
    # The parts that load as they come into view (history, details) settle first: on a busy machine
    # their swaps could otherwise land between a test's action and its check.
    page.wait_for_load_state("networkidle")


def open_compose_page(page, base: str, mention: Mention) -> None:
    page.goto(base + reverse("responders:compose-page", args=[mention.pk]))
    page.wait_for_selector("#composer-panel")


def test_an_agent_replies_with_a_canned_response_and_sees_it_sent(
    page, live_server, customer_mention, agent, delivery_worker
):
    ctx = customer_mention
    CannedResponse.objects.create(
        title="Parcel late",
        body="Sorry {{ author.handle }}, {{ agent.first_name }} here: we're tracking your parcel now.",
    )
    login(page, live_server.url, agent.username)
    open_workspace(page, live_server.url, ctx["mention"])
    page.select_option(
        "[data-composer-pane=reply] [data-canned-select]", label="Parcel late"
    )
    text = "Sorry @dana, Alice here: we're tracking your parcel now."
    expect(page.locator("#reply-text")).to_have_value(text)
    assert page.inner_text('[data-counter-for="reply-text"]') == f"{len(text)} / 280"
    page.click("text=Preview")
    page.wait_for_selector("#composer-preview .preview-post")
    screenshot(page, "composer-canned-preview")
    page.click("[data-composer-pane=reply] button[type=submit]")
    page.wait_for_selector(".outbound[data-state=queued]")
    assert "Queued — sends in" in page.inner_text(".outbound")
    screenshot(page, "composer-reply-queued")
    page.wait_for_selector(".outbound[data-state=sent] a.sent-link", timeout=15000)
    [reply] = SandboxPost.objects.filter(in_reply_to=ctx["post"], author=ctx["user"])
    assert reply.text == text
    href = page.get_attribute(".outbound a.sent-link", "href")
    assert href == f"https://x.com/AcmeSupport/status/{reply.x_id}"
    screenshot(page, "composer-reply-sent")
    assert page.console_errors == []


def test_the_live_count_matches_the_server_for_links_cjk_and_emoji(
    page, live_server, customer_mention, agent
):
    login(page, live_server.url, agent.username)
    open_compose_page(page, live_server.url, customer_mention["mention"])
    for text in [
        "see https://example.com/a/b/c?d=1 ok",
        "日本語のテキスト",
        "fine 👍🏽 👩‍👩‍👧 🇬🇧",
        "x" * 300,
    ]:
        page.fill("#reply-text", text)
        counted = int(
            page.get_attribute('[data-counter-for="reply-text"]', "data-weighted")
        )
        assert counted == weighted_length(text).weighted, text
    assert "over" in page.get_attribute('[data-counter-for="reply-text"]', "class")


def test_take_offline_by_dm_sends_the_dm_and_a_short_public_reply(
    page, live_server, customer_mention, agent, delivery_worker
):
    ctx = customer_mention
    login(page, live_server.url, agent.username)
    open_compose_page(page, live_server.url, ctx["mention"])
    page.click('[data-composer-channel="dm"]')
    page.fill("#dm-text", "Hi Dana, could you send us your postcode here?")
    page.check("[data-composer-pane=dm] [data-take-offline]")
    public = page.input_value("#dm-public-text")
    assert (
        public
        == "Hi @dana, we've sent you a DM so we can look into this privately. ^Alice"
    )
    page.click("[data-composer-pane=dm] button[type=submit]")
    page.wait_for_selector(".handoff.status-open", timeout=10000)
    dms = sandbox.dm_thread(ctx["user"], ctx["customer"])
    assert [d.text for d in dms] == ["Hi Dana, could you send us your postcode here?"]
    page.wait_for_selector(
        ".outbound[data-state=sent] >> text=Public reply", timeout=15000
    )
    replies = SandboxPost.objects.filter(in_reply_to=ctx["post"], author=ctx["user"])
    assert [p.text for p in replies] == [public]
    screenshot(page, "composer-take-offline-dm")

    # The customer answers by DM: ingest stores it, and the hand-off shows it on the original post.
    sandbox.create_dm(ctx["customer"], ctx["user"], "Sure, it's AB1 2CD")
    polling.poll_stream(ctx["streams"]["dms"].pk)
    answer = Mention.objects.get(kind="dm", text="Sure, it's AB1 2CD")
    assert answer.conversation_id == dms[0].dm_conversation_id
    page.reload()
    page.wait_for_selector(".dm-answers")
    assert "Sure, it's AB1 2CD" in page.inner_text(".dm-answers")
    open_compose_page(page, live_server.url, answer)
    assert "continues the hand-off of @dana's post" in page.inner_text("#dm-origin")
    assert page.is_disabled('[data-composer-channel="reply"]')
    screenshot(page, "composer-dm-answer")


def test_an_email_handoff_reaches_the_smtp_server(
    page,
    live_server,
    customer_mention,
    agent,
    delivery_worker,
    smtp_inbox,  # noqa: F811
):
    login(page, live_server.url, agent.username)
    open_compose_page(page, live_server.url, customer_mention["mention"])
    page.click('[data-composer-channel="email"]')
    page.fill("#email-address", "dana@example.org")
    page.fill("#email-text", "Hi Dana,\nyour replacement parcel ships today.")
    page.click("[data-composer-pane=email] button[type=submit]")
    page.wait_for_selector(".handoff.status-open", timeout=10000)
    [(_, rcpts, raw)] = smtp_inbox.messages
    message = message_from_bytes(raw)
    assert rcpts == ["dana@example.org"]
    assert (
        "your replacement parcel ships today"
        in message.get_payload()[0].get_payload(decode=True).decode()
    )
    assert (
        "never arrived" not in raw.decode()
    )  # the customer's post is not quoted by default
    assert Handoff.objects.get().contact == "dana@example.org"
    screenshot(page, "composer-email-handoff")


def test_the_privacy_guard_blocks_a_card_number_and_moves_it_to_dm(
    page, live_server, customer_mention, agent
):
    login(page, live_server.url, agent.username)
    open_workspace(page, live_server.url, customer_mention["mention"])
    text = "Dana, is the card 4111 1111 1111 1111 the one you used?"
    page.fill("#reply-text", text)
    page.click("[data-composer-pane=reply] button[type=submit]")
    page.wait_for_selector("#privacy-block")
    assert "contains a payment card number" in page.inner_text("#privacy-block")
    assert not Outbound.objects.exists()
    screenshot(page, "composer-privacy-block")
    page.click("[data-move-to-dm]")
    assert page.is_visible("#dm-text")
    assert page.input_value("#dm-text") == text
    assert page.get_attribute('[data-composer-channel="dm"]', "aria-selected") == "true"


def test_two_agents_answering_at_once_get_the_collision_warning(
    browser, live_server, customer_mention, agent, manager
):
    base = live_server.url
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)
    ]
    alice, bob = (c.new_page() for c in contexts)
    try:
        login(alice, base, agent.username)
        login(bob, base, manager.username)
        for p in (alice, bob):
            open_workspace(p, base, customer_mention["mention"])
        bob.fill("#reply-text", "Bob here: refund approved.")
        bob.click("[data-composer-pane=reply] button[type=submit]")
        bob.wait_for_selector(".outbound[data-state=queued]")
        alice.fill("#reply-text", "Alice here: looking into it.")
        alice.click("[data-composer-pane=reply] button[type=submit]")
        alice.wait_for_selector("#collision")
        assert "Bob here: refund approved." in alice.inner_text("#collision")
        assert Outbound.objects.count() == 1
        screenshot(alice, "composer-collision")
        assert alice.input_value("#reply-text") == "Alice here: looking into it."
        alice.click("[data-composer-pane=reply] button:has-text('Send anyway')")
        alice.wait_for_selector(".outbound >> text=Alice here: looking into it.")
        assert Outbound.objects.count() == 2
    finally:
        for c in contexts:
            c.close()


def test_typing_on_the_compose_page_shows_as_typing_in_a_colleagues_workspace(
    browser, live_server, customer_mention, agent, manager
):
    base = live_server.url
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)
    ]
    alice, bob = (c.new_page() for c in contexts)
    try:
        login(alice, base, agent.username)
        login(bob, base, manager.username)
        open_workspace(bob, base, customer_mention["mention"])
        open_compose_page(alice, base, customer_mention["mention"])
        alice.type("#reply-text", "Hello Dana, one moment")
        bob.wait_for_selector("#presence >> text=typing", timeout=10000)
        assert "Alice" in bob.inner_text("#presence")
    finally:
        for c in contexts:
            c.close()


def test_an_agent_undoes_a_reply_in_the_window_and_sees_a_closed_inbox_plainly(
    page, live_server, customer_mention, agent, delivery_worker
):
    ctx = customer_mention
    GuardSettings.objects.update_or_create(pk=1, defaults={"undo_seconds": 8})
    login(page, live_server.url, agent.username)
    open_workspace(page, live_server.url, ctx["mention"])
    page.fill("#reply-text", "Sent too soon")
    page.click("[data-composer-pane=reply] button[type=submit]")
    page.click(".outbound[data-state=queued] button:has-text('Undo')")
    page.wait_for_selector(".outbound[data-state=cancelled]")
    time.sleep(1)
    assert not SandboxPost.objects.filter(author=ctx["user"]).exists()

    ctx["customer"].accepts_dms = False
    ctx["customer"].save()
    page.click('[data-composer-channel="dm"]')
    page.fill("#dm-text", "Hi Dana")
    page.click("[data-composer-pane=dm] button[type=submit]")
    page.wait_for_selector(".outbound[data-state=failed]", timeout=10000)
    failed = page.inner_text(".outbound[data-state=failed]")
    assert "X answered 403: You cannot send messages to this user." in failed
    assert "Retrying the same message will not help." in failed
    page.wait_for_selector(".handoff.status-failed")
    screenshot(page, "composer-undo-and-closed-dm")
