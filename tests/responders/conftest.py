"""Fixtures for responders: mentions (plain, or backed by a real sandbox post), a loopback SMTP server."""

from __future__ import annotations

import itertools
import socket
import time
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from mentions.models import Author, Mention, Thread, XAccount

_ids = itertools.count(1_000_000)


def make_mention(
    account: XAccount,
    *,
    text: str = "@AcmeSupport my order is late",
    x_id: str | None = None,
    author_x_id: str = "900",
    handle: str = "carol",
    name: str = "Carol",
    summons: bool = True,
    conversation_id: str | None = None,
    sentiment: float | None = None,
    kind: str = "post",
    created_at: datetime | None = None,
) -> Mention:
    x_id = x_id or str(next(_ids))
    author, _ = Author.objects.get_or_create(
        x_id=author_x_id, defaults={"handle": handle, "name": name}
    )
    conversation = conversation_id or x_id
    thread, _ = Thread.objects.get_or_create(
        conversation_id=conversation,
        author=author,
        defaults={"created_at": created_at or datetime.now(UTC)},
    )
    return Mention.objects.create(
        x_id=x_id,
        kind=kind,
        account=account,
        author=author,
        thread=thread,
        text=text,
        created_at=created_at or datetime.now(UTC),
        conversation_id=conversation,
        summons_brand=summons,
        sentiment=sentiment,
    )


@pytest.fixture
def account(db) -> XAccount:
    return XAccount.objects.create(
        handle="AcmeSupport",
        x_user_id="42",
        display_name="Acme Support",
        access_token="t",
    )


@pytest.fixture
def mention(account) -> Mention:
    return make_mention(account)


@pytest.fixture
def sandbox_mention(brand):
    """A customer's post @mentioning the brand on the live sandbox, and its Mention row."""
    from mentions.sandbox import services as sandbox

    customer = sandbox.create_user("dana", "Dana Customer")
    post = sandbox.create_post(customer, "@AcmeSupport my parcel never arrived")
    mention = make_mention(
        brand["account"],
        text=post.text,
        x_id=post.x_id,
        author_x_id=customer.x_id,
        handle=customer.username,
        name=customer.name,
    )
    return {"mention": mention, "customer": customer, "post": post, **brand}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  # aiosmtpd's hook name
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on loopback; Django's SMTP backend points at it."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")
