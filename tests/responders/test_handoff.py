"""Hand-offs: DM through the sandbox X API, email through a loopback SMTP server, phone callbacks."""

from __future__ import annotations

import email
from datetime import timedelta

from django.utils import timezone

from mentions.models import MentionEvent
from mentions.sandbox import services as sandbox
from mentions.sandbox.models import SandboxPost
from responders import delivery, handoff
from responders.models import Handoff, Outbound


def run_all(mention, *, after: float = 0.0) -> None:
    for outbound in Outbound.objects.filter(mention=mention, state="queued"):
        delivery.deliver_outbound(
            outbound.pk,
            now=timezone.now() + timedelta(seconds=after),
            owner=delivery.new_owner(),
        )


def test_take_offline_by_dm_sends_the_dm_and_the_public_reply(sandbox_mention, agent):
    ctx = sandbox_mention
    mention = ctx["mention"]
    item = handoff.start_dm_handoff(
        mention, text="Hi Dana, can you send your order number here?", agent=agent,
        now=timezone.now(), public_text="We've sent you a DM, Dana.",
    )  # fmt: skip
    assert item.status == "pending"
    run_all(mention)  # the DM goes at once; the public reply waits for its undo window
    item.refresh_from_db()
    assert item.status == "open"
    dms = sandbox.dm_thread(ctx["user"], ctx["customer"])
    assert [d.text for d in dms] == ["Hi Dana, can you send your order number here?"]
    assert item.dm_conversation_id == dms[0].dm_conversation_id
    assert not SandboxPost.objects.filter(author=ctx["user"]).exists()
    run_all(mention, after=11)
    replies = SandboxPost.objects.filter(author=ctx["user"], in_reply_to=ctx["post"])
    assert [p.text for p in replies] == ["We've sent you a DM, Dana."]
    kinds = set(
        MentionEvent.objects.filter(mention=mention).values_list("kind", flat=True)
    )
    assert {"handoff", "dm", "reply"} <= kinds


def test_a_closed_inbox_fails_the_handoff_plainly_and_cancels_the_public_part(
    sandbox_mention, agent
):
    ctx = sandbox_mention
    ctx["customer"].accepts_dms = False
    ctx["customer"].save()
    item = handoff.start_dm_handoff(
        ctx["mention"],
        text="Hi",
        agent=agent,
        now=timezone.now(),
        public_text="Check your DMs",
    )
    run_all(ctx["mention"])
    item.refresh_from_db()
    dm = item.outbounds.get(channel="dm")
    public = item.outbounds.get(channel="reply")
    assert item.status == "failed"
    assert dm.state == "failed"
    assert dm.failure_reason == "X answered 403: You cannot send messages to this user."
    assert dm.is_retryable is False
    assert public.state == "cancelled"
    run_all(ctx["mention"], after=11)
    assert not SandboxPost.objects.filter(author=ctx["user"]).exists()


def test_a_dm_that_reached_x_before_a_crash_is_not_sent_again(sandbox_mention, agent):
    ctx = sandbox_mention
    item = handoff.start_dm_handoff(
        ctx["mention"], text="Only once", agent=agent, now=timezone.now()
    )
    sandbox.create_dm(ctx["user"], ctx["customer"], "Only once")
    Outbound.objects.filter(handoff=item).update(
        state="sending",
        attempts=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    run_all(ctx["mention"])
    dm = item.outbounds.get()
    delivery.deliver_outbound(dm.pk, now=timezone.now(), owner="w")
    dm.refresh_from_db()
    assert dm.state == "sent"
    assert len(sandbox.dm_thread(ctx["user"], ctx["customer"])) == 1


def test_the_customers_dm_answers_are_found_through_the_handoff(sandbox_mention, agent):
    from tests.responders.conftest import make_mention

    ctx = sandbox_mention
    item = handoff.start_dm_handoff(
        ctx["mention"], text="Hello", agent=agent, now=timezone.now()
    )
    run_all(ctx["mention"])
    item.refresh_from_db()
    answer = make_mention(
        ctx["account"], text="My order is 1234", kind="dm", author_x_id=ctx["customer"].x_id,
        conversation_id=item.dm_conversation_id, summons=False,
    )  # fmt: skip
    assert list(handoff.dm_answers(item)) == [answer]


def test_an_email_handoff_is_delivered_over_smtp_without_quoting_the_post(
    mention, agent, smtp_inbox
):
    item = handoff.start_email_handoff(
        mention, address="carol@example.org", subject="", text="Hi Carol,\nwe refunded you.",
        agent=agent, now=timezone.now(),
    )  # fmt: skip
    run_all(mention)
    item.refresh_from_db()
    assert item.status == "open"
    [(_sender, rcpts, raw)] = smtp_inbox.messages
    assert rcpts == ["carol@example.org"]
    message = email.message_from_bytes(raw)
    assert message["Subject"] == "Following up on your message to @AcmeSupport"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    assert "we refunded you." in parts["text/plain"]
    assert mention.text not in parts["text/plain"]
    assert mention.text not in parts["text/html"]
    sent = item.outbounds.get()
    assert sent.state == "sent"
    assert sent.external_id == message["Message-ID"]


def test_an_email_can_quote_the_post_when_asked_and_escapes_it_in_html(
    account, agent, smtp_inbox
):
    from tests.responders.conftest import make_mention

    mention = make_mention(account, text="<b>help</b> @AcmeSupport")
    handoff.start_email_handoff(
        mention, address="x@example.org", subject="Your order", text="Hello",
        agent=agent, now=timezone.now(), include_quote=True,
    )  # fmt: skip
    run_all(mention)
    message = email.message_from_bytes(smtp_inbox.messages[0][2])
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    assert message["Subject"] == "Your order"
    assert "<b>help</b>" in parts["text/plain"]
    assert "&lt;b&gt;help&lt;/b&gt;" in parts["text/html"]


def test_an_unreachable_mail_server_is_retried_then_failed_as_retryable(
    mention, agent, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    item = handoff.start_email_handoff(
        mention,
        address="x@example.org",
        subject="",
        text="Hello",
        agent=agent,
        now=timezone.now(),
    )
    for after in (0, 30, 90):
        run_all(mention, after=after)
    out = item.outbounds.get()
    assert out.state == "failed"
    assert out.is_retryable is True
    assert out.failure_reason.startswith("Cannot send the email")


def test_a_reached_call_resolves_the_callback_and_counts_as_an_answer(mention, agent):
    now = timezone.now()
    item = handoff.log_callback(
        mention,
        number="+14155552671",
        promised_at=now + timedelta(hours=1),
        agent=agent,
        now=now,
    )
    assert item.status == "open"
    handoff.record_call(item, outcome="no_answer", notes="", agent=agent, now=now)
    item.refresh_from_db()
    assert item.status == "open"
    assert not item.outbounds.exists()
    handoff.record_call(
        item, outcome="reached", notes="Refund agreed", agent=agent, now=now
    )
    item.refresh_from_db()
    assert item.status == "done"
    assert item.outcome == "No answer\nReached the customer: Refund agreed"
    call = item.outbounds.get()
    assert (call.channel, call.state, call.text) == ("phone", "sent", "Refund agreed")


def test_a_resolved_handoff_suggests_a_follow_up_until_one_is_sent_or_dismissed(
    mention, agent
):
    now = timezone.now()
    item = handoff.log_callback(
        mention, number="+14155552671", promised_at=None, agent=agent, now=now
    )
    assert handoff.followup_due(mention) is None
    assert handoff.resolve_handoff(item, outcome="Sorted", agent=agent, now=now)
    assert handoff.followup_due(mention) == item
    handoff.dismiss_followup(item)
    assert handoff.followup_due(mention) is None


def test_resolving_twice_does_nothing_the_second_time(mention, agent):
    now = timezone.now()
    item = handoff.log_callback(
        mention, number="+14155552671", promised_at=None, agent=agent, now=now
    )
    assert handoff.resolve_handoff(item, outcome="a", agent=agent, now=now)
    assert not handoff.resolve_handoff(item, outcome="b", agent=agent, now=now)
    assert Handoff.objects.get(pk=item.pk).outcome == "a"


def test_the_public_part_waits_while_the_dm_is_held_up_by_a_rate_limit(
    sandbox_mention, agent
):
    ctx = sandbox_mention
    sandbox.add_fault("create_dm", "rate_limit", reset_in_seconds=120)
    item = handoff.start_dm_handoff(
        ctx["mention"],
        text="Hi",
        agent=agent,
        now=timezone.now(),
        public_text="Check your DMs",
    )
    run_all(ctx["mention"])
    item.refresh_from_db()
    assert item.status == "pending"
    public = item.outbounds.get(channel="reply")
    delay = delivery.deliver_outbound(
        public.pk, now=timezone.now() + timedelta(seconds=11), owner="w"
    )
    assert delay == delivery.HANDOFF_WAIT_SECONDS
    public.refresh_from_db()
    assert public.state == "queued"
    assert not SandboxPost.objects.filter(author=ctx["user"]).exists()
