from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from responders import guards
from responders.models import GuardSettings, Outbound, PrivacyPattern
from tests.responders.conftest import make_mention


def kinds(text: str, **kwargs) -> list[str]:
    return [f.kind for f in guards.scan_text(text, **kwargs)]


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5500 0000 0000 0004",
        "378282246310005",  # Amex, 15 digits
        "4222222222222",  # 13 digits
        "6011000990139424",
    ],
)
def test_it_finds_luhn_valid_card_numbers(number):
    assert kinds(f"my card is {number} thanks") == ["card"]


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112",  # Luhn fails
        "ref 123456789012",  # 12 digits: too short for a card
        "id 41111111111111111111",  # 20 digits: too long
        "tracking 4111  1111 1111 1111",  # double space breaks the group
    ],
)
def test_it_ignores_digit_runs_that_are_not_cards(text):
    assert "card" not in kinds(text)


def test_luhn_rejects_non_digits_and_wrong_lengths():
    assert guards.luhn_ok("79927398713") is False  # valid Luhn but 11 digits
    assert guards.luhn_ok("4111x11111111111") is False
    assert guards.luhn_ok("4111111111111111") is True


def test_it_finds_email_addresses():
    assert kinds("write to jane.doe+x@example.co.uk please") == ["email"]


def test_it_finds_phone_numbers_in_the_default_region_and_international_ones():
    assert kinds("call me on (415) 555-2671") == ["phone"]
    assert kinds("call me on +44 20 7946 0958", region="US") == ["phone"]


def test_it_finds_admin_patterns_and_skips_broken_ones(db):
    good = PrivacyPattern(name="order number", regex=r"\bORD-\d{6}\b")
    broken = PrivacyPattern(name="broken", regex="(")
    found = guards.scan_text("your ORD-123456 shipped", patterns=[broken, good])
    assert [(f.kind, f.label) for f in found] == [("pattern", "order number")]


def test_plain_text_has_no_findings():
    assert guards.scan_text("Sorry about that! We're on it, 2 days max.") == []


def test_describe_lists_each_kind_once():
    found = guards.scan_text("a@b.com and c@d.com 4111111111111111")
    assert guards.describe(found) == "an email address, a payment card number"


def test_a_heated_thread_needs_several_negative_posts(account):
    guard = GuardSettings.load()
    first = make_mention(account, text="This is awful, you are useless", sentiment=-0.8)
    assert guards.thread_heat(first, guard).is_heated is False
    for text in ("Still broken. Terrible service!!", "I hate this, worst company ever"):
        make_mention(account, text=text, conversation_id=first.conversation_id)
    heat = guards.thread_heat(first, guard)
    assert heat.is_heated is True
    assert heat.exchanges == 3
    assert heat.mean_sentiment is not None
    assert heat.mean_sentiment <= -0.5


def test_a_calm_thread_is_not_heated(account):
    guard = GuardSettings.load()
    first = make_mention(
        account, text="Hi, quick question about my order", sentiment=0.1
    )
    for text in ("Thanks, that helps", "Great, all good now!"):
        make_mention(account, text=text, conversation_id=first.conversation_id)
    assert guards.thread_heat(first, guard).is_heated is False


def test_collision_finds_other_agents_outbounds_after_opening(mention, agent, manager):
    opened = datetime.now(UTC)
    Outbound.objects.create(
        mention=mention, channel="reply", text="old", agent=manager,
        release_at=opened, created_at=opened - timedelta(seconds=5),
    )  # fmt: skip
    mine = Outbound.objects.create(
        mention=mention, channel="reply", text="mine", agent=agent,
        release_at=opened, created_at=opened + timedelta(seconds=1),
    )  # fmt: skip
    theirs = Outbound.objects.create(
        mention=mention, channel="dm", text="theirs", agent=manager,
        release_at=opened, created_at=opened + timedelta(seconds=2),
    )  # fmt: skip
    Outbound.objects.create(
        mention=mention, channel="reply", text="undone", agent=manager, state="cancelled",
        release_at=opened, created_at=opened + timedelta(seconds=3),
    )  # fmt: skip
    assert guards.find_collisions(mention, agent=agent, opened_at=opened) == [theirs]
    assert guards.find_collisions(mention, agent=manager, opened_at=opened) == [mine]
