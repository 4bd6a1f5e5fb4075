from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from responders.models import (
    CannedResponse,
    GuardSettings,
    Handoff,
    Outbound,
    PrivacyPattern,
)
from tests.responders.conftest import make_mention

HTMX = {"HTTP_HX_REQUEST": "true"}


def opened(seconds_ago: float = 0) -> str:
    return (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()


def post_reply(client, mention, text, **extra):
    data = {"text": text, "opened_at": opened(5)} | extra
    return client.post(
        reverse("responders:reply-create", args=[mention.pk]), data, **HTMX
    )


@pytest.mark.parametrize("name", ["responders:composer", "responders:compose-page"])
def test_anonymous_visitors_are_sent_to_login(client, mention, name):
    response = client.get(reverse(name, args=[mention.pk]))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_user_without_a_role_gets_403(client, mention):
    client.force_login(User.objects.create_user("nobody", password="x"))
    assert (
        client.get(reverse("responders:composer", args=[mention.pk])).status_code == 403
    )
    assert post_reply(client, mention, "hi").status_code == 403
    assert not Outbound.objects.exists()


def test_the_composer_is_a_fragment_with_the_channel_buttons(agent_client, mention):
    response = agent_client.get(
        reverse("responders:composer", args=[mention.pk]), **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    for channel in ("reply", "dm", "email", "phone"):
        assert f'data-composer-channel="{channel}"' in body


def test_a_post_that_does_not_summon_the_brand_disables_reply_and_explains(
    agent_client, account
):
    mention = make_mention(account, text="acme is slow", summons=False)
    body = agent_client.get(
        reverse("responders:composer", args=[mention.pk])
    ).content.decode()
    assert (
        'data-composer-channel="reply" aria-selected="false"\n            disabled'
        in body
    )
    assert (
        "X allows an API reply only when the author @mentioned or quoted the brand"
        in body
    )
    response = post_reply(agent_client, mention, "Hello")
    assert "X allows an API reply only" in response.content.decode()
    assert not Outbound.objects.exists()


def test_sending_a_reply_queues_it_with_the_undo_window(
    agent_client, mention, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_reply(agent_client, mention, "We're on it!")
    outbound = Outbound.objects.get()
    assert (outbound.channel, outbound.state, outbound.agent) == (
        "reply",
        "queued",
        agent,
    )
    assert 9 <= (outbound.release_at - outbound.created_at).total_seconds() <= 10.5
    assert len(callbacks) == 1
    body = response.content.decode()
    assert f'id="outbound-{outbound.pk}"' in body
    assert "Undo" in body


def test_an_over_long_reply_is_refused_with_the_count(agent_client, mention):
    response = post_reply(agent_client, mention, "日本" * 71)
    assert "Too long for X: 284 of 280 weighted characters" in response.content.decode()
    assert not Outbound.objects.exists()


def test_the_privacy_guard_blocks_a_card_number_and_offers_a_dm(agent_client, mention):
    response = post_reply(agent_client, mention, "Is your card 4111 1111 1111 1111?")
    body = response.content.decode()
    assert "Not sent: this public reply contains a payment card number." in body
    assert "data-move-to-dm" in body
    assert not Outbound.objects.exists()


def test_in_warn_mode_the_reply_is_queued_with_a_warning(agent_client, mention):
    GuardSettings.objects.update_or_create(pk=1, defaults={"privacy_mode": "warn"})
    PrivacyPattern.objects.create(name="order number", regex=r"ORD-\d+")
    response = post_reply(agent_client, mention, "Your ORD-5512 is on its way")
    assert "Warning: your reply contains order number." in response.content.decode()
    assert Outbound.objects.count() == 1


def test_another_agents_reply_after_opening_stops_mine_until_send_anyway(
    agent_client, mention, manager
):
    Outbound.objects.create(
        mention=mention, channel="reply", text="Bob's answer <b>here</b>", agent=manager,
        release_at=timezone.now(),
    )  # fmt: skip
    response = post_reply(agent_client, mention, "Alice's answer")
    body = response.content.decode()
    assert "Stopped: someone else answered after you opened this." in body
    assert "Bob&#x27;s answer &lt;b&gt;here&lt;/b&gt;" in body
    assert "Send anyway" in body
    assert Outbound.objects.count() == 1
    post_reply(agent_client, mention, "Alice's answer", send_anyway="1")
    assert Outbound.objects.filter(text="Alice's answer").count() == 1


def test_undo_and_retry_through_the_views(agent_client, mention, agent):
    outbound = Outbound.objects.create(
        mention=mention, channel="reply", text="x", agent=agent,
        release_at=timezone.now() + timedelta(seconds=8),
    )  # fmt: skip
    response = agent_client.post(
        reverse("responders:outbound-undo", args=[outbound.pk]), **HTMX
    )
    assert "Undone" in response.content.decode()
    outbound.refresh_from_db()
    assert outbound.state == "cancelled"
    response = agent_client.post(
        reverse("responders:outbound-retry", args=[outbound.pk]), **HTMX
    )
    assert "This one cannot be retried." in response.content.decode()
    Outbound.objects.filter(pk=outbound.pk).update(
        state="failed", is_retryable=True, failure_reason="503"
    )
    agent_client.post(reverse("responders:outbound-retry", args=[outbound.pk]), **HTMX)
    outbound.refresh_from_db()
    assert outbound.state == "queued"


def test_a_sent_reply_shows_its_link_and_stops_polling(agent_client, mention, agent):
    outbound = Outbound.objects.create(
        mention=mention, channel="reply", text="x", agent=agent, state="sent",
        release_at=timezone.now(), url="https://x.com/AcmeSupport/status/1",
    )  # fmt: skip
    body = agent_client.get(
        reverse("responders:outbound", args=[outbound.pk])
    ).content.decode()
    assert 'href="https://x.com/AcmeSupport/status/1"' in body
    assert "hx-trigger" not in body


def test_a_failed_reply_shows_the_reason_and_whether_retry_helps(
    agent_client, mention, agent
):
    outbound = Outbound.objects.create(
        mention=mention, channel="reply", text="x", agent=agent, state="failed",
        release_at=timezone.now(), failure_reason="X answered 403: duplicate content",
    )  # fmt: skip
    body = agent_client.get(
        reverse("responders:outbound", args=[outbound.pk])
    ).content.decode()
    assert "X answered 403: duplicate content" in body
    assert "Retrying the same message will not help." in body


def test_preview_shows_the_weighted_count_and_findings(agent_client, mention):
    response = agent_client.post(
        reverse("responders:preview", args=[mention.pk]),
        {"text": "mail me a@b.co 😀"},
        **HTMX,
    )
    body = response.content.decode()
    assert "17 / 280 weighted characters" in body
    assert "Contains an email address" in body


def test_canned_responses_are_rendered_and_escaped_in_the_select(agent_client, account):
    mention = make_mention(account, handle="x_y", name='"><script>alert(1)</script>')
    CannedResponse.objects.create(
        title="Sorry", body="Sorry {{ author.name }}! ^{{ agent.first_name }}"
    )
    body = agent_client.get(
        reverse("responders:composer", args=[mention.pk])
    ).content.decode()
    assert "<script>alert(1)" not in body
    assert (
        'data-text="Sorry &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;! ^Alice"'
        in body
    )


def test_a_bad_phone_number_is_refused_and_a_good_one_logs_a_callback(
    agent_client, mention
):
    url = reverse("responders:phone-create", args=[mention.pk])
    body = agent_client.post(url, {"number": "12"}, **HTMX).content.decode()
    assert (
        "That phone number is not valid" in body or "That is not a phone number" in body
    )
    assert not Handoff.objects.exists()
    agent_client.post(url, {"number": "(415) 555-2671", "notes": "after 5pm"}, **HTMX)
    item = Handoff.objects.get()
    assert (item.channel, item.contact, item.status) == (
        "phone",
        "+14155552671",
        "open",
    )


def test_dm_view_creates_a_handoff_and_blocks_personal_data_in_the_public_part(
    agent_client, mention
):
    url = reverse("responders:dm-create", args=[mention.pk])
    data = {
        "text": "Hi",
        "opened_at": opened(),
        "take_offline": "1",
        "public_text": "DM sent to a@b.com",
    }
    body = agent_client.post(url, data, **HTMX).content.decode()
    assert "The public part contains an email address" in body
    assert not Handoff.objects.exists()
    agent_client.post(url, data | {"public_text": "We've sent you a DM"}, **HTMX)
    item = Handoff.objects.get()
    assert sorted(item.outbounds.values_list("channel", flat=True)) == ["dm", "reply"]


def test_email_view_validates_the_address(agent_client, mention):
    url = reverse("responders:email-create", args=[mention.pk])
    body = agent_client.post(
        url, {"address": "nope", "text": "Hi", "opened_at": opened()}, **HTMX
    ).content.decode()
    assert "Enter a valid email address." in body
    assert not Handoff.objects.exists()


def test_the_compose_page_escapes_hostile_post_text(agent_client, account):
    mention = make_mention(
        account, text="<img src=x onerror=alert(1)> {{ agent.first_name }}"
    )
    body = agent_client.get(
        reverse("responders:compose-page", args=[mention.pk])
    ).content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt; {{ agent.first_name }}" in body


def test_only_admins_open_the_settings_page(client, agent, manager, admin_user):
    url = reverse("responders:settings")
    for user in (agent, manager):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


def _settings_data(**extra):
    return {
        "privacy_mode": "warn", "phone_region": "gb", "undo_seconds": "5", "cooloff_threshold": "-0.4",
        "cooloff_min_posts": "3", "support_email": "", "support_phone": "",
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000", "form-0-name": "order number", "form-0-regex": r"ORD-\d{4}",
        "form-0-is_active": "on",
    } | extra  # fmt: skip


def test_a_bad_pattern_is_refused_with_a_clear_message_and_nothing_saved(
    client, admin_user
):
    client.force_login(admin_user)
    response = client.post(
        reverse("responders:settings"), _settings_data(**{"form-0-regex": "ORD-(\\d"})
    )
    assert response.status_code == 400
    assert (
        "Not a valid regular expression: missing ), unterminated subpattern at position 4."
        in response.content.decode()
    )
    assert not PrivacyPattern.objects.exists()
    assert GuardSettings.load().privacy_mode == "block"


def test_admin_saves_guard_settings_and_patterns(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("responders:settings"), _settings_data())
    assert response.status_code == 302
    guard = GuardSettings.load()
    assert (guard.privacy_mode, guard.phone_region, guard.effective_undo_seconds()) == (
        "warn",
        "GB",
        5,
    )
    assert PrivacyPattern.objects.get().regex == r"ORD-\d{4}"


def test_another_agent_cannot_undo_my_reply(client, mention, agent):
    other = User.objects.create_user("dave", password="x")
    from django.contrib.auth.models import Group

    other.groups.add(Group.objects.get_or_create(name="agent")[0])
    outbound = Outbound.objects.create(
        mention=mention, channel="reply", text="x", agent=agent,
        release_at=timezone.now() + timedelta(seconds=8),
    )  # fmt: skip
    client.force_login(other)
    body = client.get(
        reverse("responders:outbound", args=[outbound.pk])
    ).content.decode()
    assert "Undo" not in body
    assert (
        client.post(reverse("responders:outbound-undo", args=[outbound.pk])).status_code
        == 403
    )
    outbound.refresh_from_db()
    assert outbound.state == "queued"


def test_the_composer_says_when_the_thread_is_heated(agent_client, account):
    first = make_mention(
        account, text="You are useless and I hate this", sentiment=-0.8
    )
    for text in (
        "Still broken, terrible, awful service",
        "Worst company ever, disgusting",
    ):
        make_mention(
            account, text=text, conversation_id=first.conversation_id, sentiment=-0.8
        )
    body = agent_client.get(
        reverse("responders:composer", args=[first.pk])
    ).content.decode()
    assert 'id="cooloff"' in body
    assert "This thread is heated (3 posts back and forth" in body


def test_a_calm_thread_shows_no_cool_off_note(agent_client, mention):
    body = agent_client.get(
        reverse("responders:composer", args=[mention.pk])
    ).content.decode()
    assert 'id="cooloff"' not in body


def test_a_resolved_handoff_suggests_a_follow_up_the_agent_can_dismiss(
    agent_client, mention, agent
):
    from responders import handoff

    item = handoff.log_callback(
        mention,
        number="+14155552671",
        promised_at=None,
        agent=agent,
        now=timezone.now(),
    )
    resolve = reverse("responders:handoff-resolve", args=[item.pk])
    body = agent_client.post(resolve, {"outcome": "Refunded"}, **HTMX).content.decode()
    assert 'id="followup"' in body
    assert "glad we could sort this out" in body
    dismiss = reverse("responders:handoff-dismiss-followup", args=[item.pk])
    body = agent_client.post(dismiss, **HTMX).content.decode()
    assert 'id="followup"' not in body


def test_logging_a_reached_call_through_the_view_resolves_it(
    agent_client, mention, agent
):
    from responders import handoff

    item = handoff.log_callback(
        mention,
        number="+14155552671",
        promised_at=None,
        agent=agent,
        now=timezone.now(),
    )
    agent_client.post(
        reverse("responders:handoff-call", args=[item.pk]),
        {"outcome": "reached", "notes": "ok"},
        **HTMX,
    )
    item.refresh_from_db()
    assert (item.status, item.call_outcome) == ("done", "reached")


def test_admins_manage_canned_responses_in_the_django_admin(client, admin_user):
    client.force_login(admin_user)
    for name in (
        "cannedresponse",
        "guardsettings",
        "privacypattern",
        "outbound",
        "handoff",
    ):
        assert (
            client.get(reverse(f"admin:responders_{name}_changelist")).status_code
            == 200
        )
    response = client.post(
        reverse("admin:responders_privacypattern_add"),
        {"name": "bad", "regex": "[", "is_active": "on"},
    )
    assert "Not a valid regular expression" in response.content.decode()
    assert not PrivacyPattern.objects.exists()


def test_a_customers_dm_links_back_to_the_handoff_and_cannot_be_replied_to_publicly(
    agent_client, mention, agent
):
    from responders.models import Handoff

    Handoff.objects.create(
        mention=mention, channel="dm", contact="@carol", status="open", agent=agent,
        dm_conversation_id="42-900",
    )  # fmt: skip
    dm = make_mention(
        mention.account, text="here is my postcode", kind="dm", summons=False,
        conversation_id="42-900",
    )  # fmt: skip
    body = agent_client.get(
        reverse("responders:composer", args=[dm.pk])
    ).content.decode()
    assert "This DM continues the hand-off of" in body
    assert reverse("mentions:detail", args=[mention.pk]) in body
    assert "there is no public post to reply to" in body
    assert 'name="take_offline"' not in body
    response = post_reply(agent_client, dm, "Hello")
    assert "there is no public post to reply to" in response.content.decode()
    assert not Outbound.objects.exists()
