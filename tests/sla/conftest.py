"""SLA fixtures: a brand, mentions in threads, calendars and policies (minimal and valid)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time

import pytest

from mentions.models import Author, Mention, MentionStream, Stream, Thread, XAccount
from mentions.sla.models import BusinessCalendar, OpenInterval, SlaPolicy

_ids = itertools.count(1000)


@pytest.fixture
def account(db) -> XAccount:
    return XAccount.objects.create(handle="AcmeSupport", x_user_id="1")


@pytest.fixture
def stream(account) -> Stream:
    return Stream.objects.create(
        account=account, kind=Stream.Kind.MENTIONS, name="@mentions"
    )


@pytest.fixture
def make_mention(account):
    def make(
        *,
        created_at: datetime,
        thread: Thread | None = None,
        kind: str = "post",
        priority: int = 2,
        followers: int = 10,
        verified: bool = False,
        lang: str = "en",
        streams: tuple[Stream, ...] = (),
        status: str = "new",
        text: str = "@AcmeSupport help",
    ) -> Mention:
        n = next(_ids)
        if thread is None:
            author = Author.objects.create(
                x_id=str(n),
                handle=f"user{n}",
                followers_count=followers,
                verified=verified,
            )
            thread = Thread.objects.create(
                conversation_id=str(n), author=author, created_at=created_at
            )
        mention = Mention.objects.create(
            x_id=str(n),
            kind=kind,
            account_id=account.pk,
            author=thread.author,
            thread=thread,
            text=text,
            lang=lang,
            created_at=created_at,
            conversation_id=thread.conversation_id,
            priority=priority,
            status=status,
        )
        for s in streams:
            MentionStream.objects.create(mention=mention, stream=s)
        return mention

    return make


@pytest.fixture
def always_open(db) -> BusinessCalendar:
    return BusinessCalendar.objects.get_or_create(
        name="24/7", defaults={"time_zone": "UTC", "is_always_open": True}
    )[0]


@pytest.fixture
def berlin_office(db) -> BusinessCalendar:
    """Mon-Fri 09:00-17:00 Europe/Berlin, German public holidays."""
    cal = BusinessCalendar.objects.create(
        name="Berlin office", time_zone="Europe/Berlin", holiday_country="DE"
    )
    OpenInterval.objects.bulk_create(
        OpenInterval(calendar=cal, weekday=d, opens_at=time(9), closes_at=time(17))
        for d in range(5)
    )
    return cal


@pytest.fixture
def default_policy(always_open) -> SlaPolicy:
    """The migration's default (60 min / 60 min / 24 h, calendar time), made sure of."""
    SlaPolicy.objects.exclude(name="Default").delete()
    policy, _ = SlaPolicy.objects.update_or_create(
        name="Default",
        defaults={
            "calendar": always_open,
            "is_default": True,
            "position": 1000,
            "first_response_minutes": 60,
            "first_response_business": False,
            "next_response_minutes": 60,
            "next_response_business": False,
            "resolution_minutes": 24 * 60,
            "resolution_business": False,
            "warning_share": 75,
            "conditions": {},
            "is_active": True,
        },
    )
    return policy


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
