"""The escalation settings pages in Chromium: an admin creates a rule, disables it with htmx."""

from __future__ import annotations

import pytest

from mentions.escalation.models import EscalationRule
from tests.browser.conftest import browser, login, page, screenshot  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_creates_a_rule_and_disables_it_from_the_list(
    live_server,
    admin_user,
    page,  # noqa: F811 - the imported fixture
):
    login(page, live_server.url, "charlie")
    page.goto(f"{live_server.url}/settings/escalations/new/")

    page.click("form.esc-form button[type=submit]")  # empty: refused with the reasons
    assert "A rule needs at least one condition." in page.inner_text("#rule-errors")
    page.fill("#id_name", "Refund threats")
    page.select_option("#id_clock_target", "first_response")
    page.select_option("#id_clock_when", "breached")
    page.fill("#id_keywords", "refund, chargeback")
    page.select_option("#id_raise_priority", "4")
    page.fill("#id_add_tag", "refund-risk")
    page.fill("#id_webhook_url", "https://hooks.example.com/earshot")
    page.fill("#id_webhook_secret", "s3cret")
    screenshot(page, "escalation-rule-form")
    page.click("form.esc-form button[type=submit]")

    page.wait_for_selector("text=Created the rule")
    assert "first response is breached" in page.inner_text("main")
    screenshot(page, "escalation-rule-detail")
    page.goto(f"{live_server.url}/settings/escalations/")
    rule = EscalationRule.objects.get(name="Refund threats")
    page.click(f"#rule-{rule.pk} button:has-text('Disable')")
    page.wait_for_selector(f"#rule-{rule.pk} button:has-text('Enable')")
    screenshot(page, "escalation-rule-list")

    rule.refresh_from_db()
    assert not rule.is_active
    assert rule.webhook_secret == "s3cret"
    assert page.console_errors == []
