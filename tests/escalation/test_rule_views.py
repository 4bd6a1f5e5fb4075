"""The escalation settings pages: admins change, managers read, agents get 403, anonymous logs in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mentions.escalation.models import EscalationRule
from mentions.models import Team
from tests.escalation.conftest import make_rule

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Angry VIPs",
    "position": "1",
    "is_active": "on",
    "min_followers": "10000",
    "max_sentiment": "-0.5",
    "raise_priority": "4",
    "add_tag": "vip",
}


@pytest.fixture
def rule(db):
    return make_rule({"keywords": ["refund"]}, name="Refunds")


def as_(client, user):
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("escalation:rules"))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("rules", []),
        ("rule-detail", ["rule"]),
        ("rule-create", []),
        ("rule-edit", ["rule"]),
    ],
)
def test_agents_get_403_everywhere(client, agent, rule, name, args):
    url = reverse(f"escalation:{name}", args=[rule.pk] if args else [])

    assert as_(client, agent).get(url).status_code == 403


def test_managers_read_the_list_and_a_rule_without_edit_controls(client, manager, rule):
    as_(client, manager)

    listing = client.get(reverse("escalation:rules"))
    detail = client.get(reverse("escalation:rule-detail", args=[rule.pk]))

    assert listing.status_code == detail.status_code == 200
    assert "Refunds" in listing.content.decode()
    assert "text contains any of: refund" in listing.content.decode()
    assert "New rule" not in listing.content.decode()
    assert "Disable" not in listing.content.decode()


@pytest.mark.parametrize("name", ["rule-create", "rule-edit", "rule-toggle"])
def test_managers_cannot_change_rules(client, manager, rule, name):
    url = reverse(f"escalation:{name}", args=[] if name == "rule-create" else [rule.pk])

    response = as_(client, manager).post(url, {**VALID, "active": "0"})

    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.is_active
    assert rule.name == "Refunds"


def test_the_list_costs_a_constant_number_of_queries(
    client, admin_user, django_assert_max_num_queries
):
    for i in range(10):
        make_rule({"teams": [Team.objects.create(name=f"T{i}").pk]})
    as_(client, admin_user)

    with django_assert_max_num_queries(12):
        assert client.get(reverse("escalation:rules")).status_code == 200


def test_admins_create_a_rule(client, admin_user):
    response = as_(client, admin_user).post(reverse("escalation:rule-create"), VALID)

    rule = EscalationRule.objects.get(name="Angry VIPs")
    assert response.status_code == 302
    assert response["Location"] == reverse("escalation:rule-detail", args=[rule.pk])
    assert rule.conditions == {"min_followers": 10000, "max_sentiment": -0.5}
    assert rule.actions == [
        {"type": "raise_priority", "priority": 4},
        {"type": "add_tag", "tag": "vip"},
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"raise_priority": "", "add_tag": ""}, "A rule needs at least one action."),
        (
            {"min_followers": "", "max_sentiment": ""},
            "A rule needs at least one condition.",
        ),
        (
            {"webhook_url": "ftp://example.com/x", "webhook_secret": "s"},
            "is not an http(s) URL",
        ),
        (
            {"webhook_url": "https://hooks.example.com/x"},
            "Give a secret to sign the webhook with.",
        ),
        ({"assign_agent": "999999"}, "Unknown agent."),
        ({"assign_team": "999999"}, "Unknown team."),
        (
            {"clock_target": "first_response", "clock_when": "due_within"},
            "Say within how many minutes",
        ),
        (
            {"email_to": "addresses", "email_addresses": "not-an-address"},
            "not an email address: not-an-address",
        ),
        ({"email_to": "addresses"}, "give at least one address"),
        ({"max_sentiment": "3"}, "less than or equal to 1"),
    ],
)
def test_an_invalid_rule_is_refused_with_a_message_and_nothing_changes(
    client, admin_user, change, message
):
    response = as_(client, admin_user).post(
        reverse("escalation:rule-create"), {**VALID, **change}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EscalationRule.objects.filter(name="Angry VIPs").exists()


def test_admins_edit_a_rule_and_the_webhook_secret_is_never_shown(
    client, admin_user, rule
):
    as_(client, admin_user)
    url = reverse("escalation:rule-edit", args=[rule.pk])
    data = {
        "name": "Refunds",
        "position": "0",
        "is_active": "on",
        "keywords": "refund, chargeback",
        "webhook_url": "https://hooks.example.com/x",
        "webhook_secret": "hunter22",
    }

    assert client.post(url, data).status_code == 302
    page = client.get(url).content.decode()

    rule.refresh_from_db()
    assert rule.conditions == {"keywords": ["refund", "chargeback"]}
    assert rule.webhook_secret == "hunter22"
    assert "hunter22" not in page
    assert "refund, chargeback" in page
    # Saving again without a secret keeps the stored one.
    assert client.post(url, {**data, "webhook_secret": ""}).status_code == 302
    rule.refresh_from_db()
    assert rule.webhook_secret == "hunter22"


def test_admins_disable_and_enable_a_rule_with_htmx(client, admin_user, rule):
    as_(client, admin_user)
    url = reverse("escalation:rule-toggle", args=[rule.pk])

    response = client.post(url, {"active": "0"}, headers={"HX-Request": "true"})

    rule.refresh_from_db()
    assert not rule.is_active
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="rule-table">')
    assert "<html" not in content
    client.post(url, {"active": "1"})
    rule.refresh_from_db()
    assert rule.is_active


def test_user_text_on_the_rule_page_is_escaped(client, manager, make_mention):
    from mentions.escalation import services
    from tests.escalation.conftest import NOW

    make_mention("refund <script>alert(1)</script>")
    rule = make_rule({"keywords": ["refund"]}, name="<b>bold</b>")
    services.sweep(now=NOW)

    page = (
        as_(client, manager)
        .get(reverse("escalation:rule-detail", args=[rule.pk]))
        .content.decode()
    )

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page


def test_the_list_and_the_rule_page_show_delivery_states(client, manager, make_mention):
    from mentions.escalation.models import EscalationFiring, Notification
    from tests.escalation.conftest import NOW

    rule = make_rule({"keywords": ["order"]}, name="Hooks")
    firing = EscalationFiring.objects.create(
        rule=rule, mention=make_mention(), fired_at=NOW
    )
    Notification.objects.create(
        firing=firing, channel="webhook", destination="https://a.example/x"
    )
    Notification.objects.create(
        firing=firing,
        channel="email",
        destination="lead@example.com",
        state="failed",
        attempts=5,
        last_error="SMTP 550: mailbox unavailable",
    )
    as_(client, manager)

    listing = client.get(reverse("escalation:rules")).content.decode()
    detail = client.get(
        reverse("escalation:rule-detail", args=[rule.pk])
    ).content.decode()

    assert "1 pending" in listing
    assert "1 failed" in listing
    assert "Queued</span> · Webhook to https://a.example/x" in detail
    assert "SMTP 550: mailbox unavailable" in detail
    assert "5 attempts" in detail
