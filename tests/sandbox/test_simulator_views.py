from __future__ import annotations

import pytest
from django.urls import reverse

from mentions.sandbox import services
from mentions.sandbox.models import SandboxDMEvent, SandboxFault, SandboxPost

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand_user():
    user = services.create_user("AcmeHelp", "Acme Support", verified=True)
    services.issue_user_token(user)
    return user


def test_it_shows_the_simulator_to_a_logged_in_agent(agent_client, brand_user):
    response = agent_client.get(reverse("sandbox:simulator"))

    assert response.status_code == 200
    assert "Sandbox X API — not the real X" in response.content.decode()


def test_it_redirects_anonymous_visitors_to_login(client):
    response = client.get(reverse("sandbox:simulator"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_escapes_html_in_post_text_and_names(agent_client, brand_user):
    evil = services.create_user("mallory", "<b>Mallory</b>")
    services.create_post(evil, "@AcmeHelp <script>alert(1)</script>")

    body = agent_client.get(reverse("sandbox:simulator")).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>Mallory</b>" not in body


def test_it_returns_only_the_conversations_fragment_to_htmx(agent_client, brand_user):
    response = agent_client.get(
        reverse("sandbox:simulator"),
        headers={"HX-Request": "true", "HX-Target": "conversations"},
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="conversations"')
    assert "<html" not in body


def test_it_posts_as_a_new_customer_mentioning_the_brand(agent_client, brand_user):
    response = agent_client.post(
        reverse("sandbox:post-create"),
        {"brand": "AcmeHelp", "username": "newbie", "name": "New Bie", "followers_count": 5,
         "text": "where is my parcel?", "mention_brand": "on", "lang": "en"},
    )  # fmt: skip

    assert response.status_code == 302
    post = SandboxPost.objects.get()
    assert post.text == "@AcmeHelp where is my parcel?"
    assert post.author.username == "newbie"
    assert post.mentions("acmehelp")


def test_it_replies_in_a_thread(agent_client, brand_user):
    root = services.create_post(brand_user, "We are looking into the outage.")

    agent_client.post(
        reverse("sandbox:post-create"),
        {
            "brand": "AcmeHelp",
            "username": "jane",
            "text": "still down",
            "in_reply_to": str(root.id),
            "lang": "en",
        },
    )

    reply = SandboxPost.objects.exclude(pk=root.pk).get()
    assert reply.in_reply_to_id == root.id
    assert reply.conversation_id == root.id


def test_it_sends_a_dm_to_the_brand(agent_client, brand_user):
    agent_client.post(
        reverse("sandbox:dm-create"),
        {"brand": "AcmeHelp", "username": "jane", "text": "hi"},
    )

    event = SandboxDMEvent.objects.get()
    assert event.recipient == brand_user
    assert event.sender.username == "jane"


def test_it_injects_and_clears_faults(agent_client, brand_user):
    agent_client.post(
        reverse("sandbox:fault-create"),
        {
            "endpoint": "search",
            "kind": "server_error",
            "count": 2,
            "after": 0,
            "reset_in_seconds": 60,
        },
    )
    assert SandboxFault.objects.get().remaining == 2

    agent_client.post(reverse("sandbox:fault-clear"))
    assert not SandboxFault.objects.exists()
