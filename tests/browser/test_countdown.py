"""In Chromium: the SLA countdown ticks every second without the server and turns amber, then red."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mentions.models import Author, Mention, Thread, XAccount
from mentions.sla import services as sla
from mentions.sla.models import BusinessCalendar, SlaPolicy
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _mention_due_soon() -> tuple[SlaPolicy, Mention]:
    """A mention whose first response (1 min target, amber at 90 %) warns in ~4 s and is due in ~10 s."""
    SlaPolicy.objects.all().delete()  # the migration's default, when the database is fresh
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="24/7", defaults={"is_always_open": True}
    )
    policy = SlaPolicy.objects.create(
        name="Fast lane",
        calendar=calendar,
        is_default=True,
        first_response_minutes=1,
        warning_share=90,
    )
    account = XAccount.objects.create(handle="AcmeSupport", x_user_id="1")
    author = Author.objects.create(x_id="2", handle="grumpy", name="Grumpy Customer")
    now = timezone.now()
    created = now - timedelta(seconds=50)
    thread = Thread.objects.create(
        conversation_id="9", author=author, created_at=created
    )
    mention = Mention.objects.create(
        x_id="9",
        account=account,
        author=author,
        thread=thread,
        text="@AcmeSupport where is my parcel?",
        created_at=created,
        conversation_id="9",
    )
    sla.start_clocks([mention.pk], now=now)
    mention.refresh_from_db()
    return policy, mention


def _login(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "password")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_countdown_ticks_in_the_browser_and_turns_amber_then_red(
    page, live_server, manager
):
    _login(page, live_server.url, manager.username)
    policy, mention = _mention_due_soon()
    requests: list[str] = []
    page.goto(f"{live_server.url}/settings/sla/policies/{policy.pk}/")
    page.on("request", lambda request: requests.append(request.url))

    countdown = page.locator("#policy-mentions .sla-countdown")
    countdown.wait_for()
    assert countdown.get_attribute("title") == mention.sla_hint
    assert "First response due" in mention.sla_hint
    first = countdown.inner_text()
    assert first.endswith(" left"), first
    assert "sla-ok" in countdown.get_attribute("class")
    screenshot(page, "sla-countdown-ok")

    page.wait_for_timeout(1100)
    assert countdown.inner_text() != first  # ticked without a reload

    page.locator("#policy-mentions .sla-countdown.sla-warn").wait_for(timeout=6000)
    assert countdown.inner_text().startswith("\u26a0 ")
    screenshot(page, "sla-countdown-warn")

    page.locator("#policy-mentions .sla-countdown.sla-breached").wait_for(timeout=10000)
    page.wait_for_timeout(1100)
    text = countdown.inner_text()
    assert text.startswith("\u2716 -")
    assert text.endswith(" overdue")
    screenshot(page, "sla-countdown-breached")

    assert requests == []  # every tick happened in the browser
    assert page.console_errors == []


def test_the_queue_row_counts_down_and_turns_red(page, live_server, agent):
    _login(page, live_server.url, agent.username)
    _policy, mention = _mention_due_soon()
    page.goto(f"{live_server.url}/mentions/")
    row = page.locator("tr", has_text="where is my parcel")
    countdown = row.locator(".sla-countdown")
    countdown.wait_for()
    assert countdown.get_attribute("title") == mention.sla_hint
    assert countdown.inner_text().endswith(" left")
    row.locator(".sla-countdown.sla-warn").wait_for(timeout=6000)
    screenshot(page, "sla-countdown-queue-warn")
    row.locator(".sla-countdown.sla-breached").wait_for(timeout=10000)
    assert countdown.inner_text().endswith(" overdue")
    screenshot(page, "sla-countdown-queue-breached")
    assert page.console_errors == []


def test_countdowns_swapped_in_by_htmx_start_ticking(page, live_server, manager):
    policy, _mention = _mention_due_soon()
    _login(page, live_server.url, manager.username)
    page.goto(f"{live_server.url}/settings/sla/policies/{policy.pk}/")
    due = (timezone.now() + timedelta(hours=2)).isoformat()
    page.evaluate(
        """due => {
            const span = document.createElement("span");
            span.className = "sla-countdown";
            span.id = "swapped";
            span.dataset.slaDue = due;
            document.body.appendChild(span);
            document.body.dispatchEvent(new CustomEvent("htmx:afterSwap", {bubbles: true}));
        }""",
        due,
    )
    swapped = page.locator("#swapped")
    assert swapped.inner_text().startswith("1h 59m") or swapped.inner_text().startswith(
        "2h 00m"
    )
    assert "sla-ok" in swapped.get_attribute("class")


def test_an_admin_sees_why_a_calendar_is_refused(page, live_server, admin_user):
    _login(page, live_server.url, admin_user.username)
    page.goto(f"{live_server.url}/settings/sla/")
    screenshot(page, "sla-settings")
    page.click("text=New calendar")
    page.fill("#id_name", "Berlin office")
    page.select_option("#id_time_zone", "Europe/Berlin")
    page.fill("#id_day_0", "09:00-12:00, 11:00-14:00")
    page.fill("#id_day_1", "17:00-09:00")
    page.click("text=Save calendar")
    errors = page.locator(".sla-error")
    errors.first.wait_for()
    text = errors.all_inner_texts()
    assert "Monday: 09:00-12:00 overlaps 11:00-14:00." in text
    assert any(
        t.startswith("Tuesday: 17:00-09:00 closes before it opens") for t in text
    )
    screenshot(page, "sla-calendar-errors")
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()


def test_an_admin_sees_why_a_policy_is_refused(page, live_server, admin_user):
    _login(page, live_server.url, admin_user.username)
    BusinessCalendar.objects.get_or_create(
        name="24/7", defaults={"is_always_open": True}
    )
    page.goto(f"{live_server.url}/settings/sla/policies/new/")
    page.fill("#id_name", "VIP")
    page.select_option("#id_calendar", label="24/7")
    page.click("text=Save policy")
    page.locator(".sla-errors").wait_for()
    assert "Set at least one target" in page.locator(".sla-errors").inner_text()
    screenshot(page, "sla-policy-errors")
    assert not SlaPolicy.objects.filter(name="VIP").exists()
