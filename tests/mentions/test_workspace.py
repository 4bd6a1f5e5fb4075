"""The mention workspace: access, the whole thread in order, author card, details, triage actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from mentions import triage
from mentions.history import record_event
from mentions.models import Author, Mention, MentionEvent, Tag, Team
from tests.mentions.queue_helpers import (
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
    make_stream,
)

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture
def account():
    return make_account()


@pytest.fixture
def mention(account):
    return make_mention(account, make_stream(account), text="where is my parcel")


def page(client, mention, **headers):
    return client.get(f"/mentions/{mention.pk}/", headers=headers)


def part(client, mention, name):
    return client.get(
        f"/mentions/{mention.pk}/", {"part": name}, headers={"HX-Request": "true"}
    )


def test_anonymous_users_are_sent_to_the_login_page(client, mention):
    response = page(client, mention)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_without_a_role_is_refused(client, mention):
    client.force_login(User.objects.create_user("mallory", password="x"))

    assert page(client, mention).status_code == 403


@pytest.mark.parametrize("persona", ["agent", "manager", "admin_user"])
def test_agents_managers_and_admins_open_the_workspace(
    client, request, persona, mention
):
    client.force_login(request.getfixturevalue(persona))

    assert page(client, mention).status_code == 200


def test_an_unknown_mention_is_404(agent_client):
    assert agent_client.get("/mentions/999999/").status_code == 404


def test_the_thread_shows_posts_replies_and_notes_in_order(
    agent_client, agent, account
):
    t0 = timezone.now() - timedelta(hours=3)
    customer = Author.objects.create(x_id="1", handle="cust", name="Cust")
    bystander = Author.objects.create(x_id="2", handle="bystander", name="By Stander")
    first = make_mention(
        account,
        author=customer,
        text="parcel late",
        created_at=t0,
        conversation_id="c1",
    )
    make_mention(
        account,
        author=bystander,
        text="same here",
        created_at=t0 + timedelta(minutes=5),
        conversation_id="c1",
    )
    record_event(
        first,
        MentionEvent.Kind.REPLY,
        "alice replied: sorry, checking",
        actor=agent,
        data={"state": "sent", "url": "https://x.com/Acme/status/5"},
        at=t0 + timedelta(minutes=10),
    )
    triage.add_note(
        first, "courier says Tuesday", actor=agent, now=t0 + timedelta(minutes=15)
    )
    second = make_mention(
        account,
        author=customer,
        text="still nothing",
        created_at=t0 + timedelta(minutes=20),
        conversation_id="c1",
    )
    make_mention(account, text="unrelated", conversation_id="c2")

    content = page(agent_client, second).content.decode()

    order = [
        "parcel late",
        "same here",
        "alice replied: sorry, checking",
        "courier says Tuesday",
        "still nothing",
    ]
    positions = [content.index(text) for text in order]
    assert positions == sorted(positions)
    assert "unrelated" not in content
    assert "other person" in content
    assert 'href="https://x.com/Acme/status/5"' in content
    assert "internal note (never sent)" in content


def test_the_author_card_shows_earlier_mentions_and_how_they_ended(
    agent_client, account
):
    customer = Author.objects.create(
        x_id="7",
        handle="loyal",
        name="Loyal Customer",
        followers_count=12345,
        verified=True,
        description="I like parcels",
    )
    now = timezone.now()
    earlier = [
        make_mention(
            account,
            author=customer,
            text=f"earlier {n}",
            created_at=now - timedelta(days=10 - n),
            status="resolved" if n % 2 else "spam",
        )
        for n in range(7)
    ]
    current = make_mention(account, author=customer, text="today", created_at=now)

    content = page(agent_client, current).content.decode()
    response = part(agent_client, current, "earlier")

    assert "12,345 followers" in content
    assert "verified" in content
    assert "I like parcels" in content
    # The earlier mentions load when the card scrolls into view.
    assert (
        f'<div id="author-earlier" hx-get="/mentions/{current.pk}/?part=earlier" '
        'hx-trigger="revealed" hx-swap="outerHTML">'
    ) in content
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="author-earlier">')
    assert "7 earlier mentions" in fragment
    # The last five, newest first.
    links = [fragment.find(f'href="/mentions/{m.pk}/"') for m in earlier[::-1]]
    assert -1 not in links[:5]
    assert links[:5] == sorted(links[:5])
    assert links[5:] == [-1, -1]


def test_details_show_streams_priority_reasons_sentiment_language_and_the_x_link(
    agent_client, account
):
    mention = make_mention(
        account,
        make_stream(account, "search"),
        text="lawyer time",
        lang="en",
        sentiment=-0.8,
        priority=4,
        priority_score=75,
        priority_reasons=[
            {"reason": "Keyword: lawyer", "points": 40},
            {"reason": "Direct @mention", "points": 20},
        ],
        summons_brand=True,
    )

    content = page(agent_client, mention).content.decode()
    details = part(agent_client, mention, "details").content.decode()

    # Below the fold, loaded when it scrolls into view.
    assert (
        f'<section id="details" class="card details" hx-get="/mentions/{mention.pk}/?part=details" '
        'hx-trigger="revealed" hx-swap="outerHTML">'
    ) in content
    assert "Keyword: lawyer" not in content
    assert details.lstrip().startswith('<section id="details" class="card details">')

    for expected in (
        "search",
        "Keyword: lawyer",
        "(+40)",
        "Direct @mention",
        "negative",
        "Language: en",
        f"https://x.com/{mention.author.handle}/status/{mention.x_id}",
        "a public reply is allowed",
    ):
        assert expected in details


def test_hostile_text_names_and_bios_are_escaped(agent_client, account):
    author = Author.objects.create(
        x_id="666", handle="h4x", name=PAYLOAD, description=PAYLOAD
    )
    mention = make_mention(account, author=author, text=PAYLOAD)
    mention.tags.add(Tag.objects.create(name="<b>tag</b>"))

    content = page(agent_client, mention).content.decode()

    assert "<script>window.pwned" not in content
    assert 'onerror="window' not in content
    assert "<b>tag</b>" not in content
    assert "&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;" in content


def test_hostile_text_in_the_lazy_fragments_is_escaped(agent, agent_client, account):
    author = Author.objects.create(x_id="667", handle="h4x2", name=PAYLOAD)
    make_mention(
        account,
        author=author,
        text=PAYLOAD,
        created_at=timezone.now() - timedelta(days=1),
    )
    mention = make_mention(
        account,
        make_stream(account, PAYLOAD),
        author=author,
        text="hello",
        priority_reasons=[{"reason": PAYLOAD, "points": 5}],
    )
    triage.add_note(mention, PAYLOAD, actor=agent, now=timezone.now())
    record_event(mention, MentionEvent.Kind.NOTE, PAYLOAD, actor=agent)

    for name in ("earlier", "history", "details"):
        content = part(agent_client, mention, name).content.decode()

        assert "<script>window.pwned" not in content
        assert 'onerror="window' not in content
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in content


def test_the_history_loads_when_it_scrolls_into_view(agent_client, agent, mention):
    triage.assign_mention(mention, assignee=agent, actor=agent, now=timezone.now())

    content = page(agent_client, mention).content.decode()
    fragment = part(agent_client, mention, "history").content.decode()

    assert (
        f'<section id="history" class="card" hx-get="/mentions/{mention.pk}/?part=history" '
        'hx-trigger="revealed" hx-swap="outerHTML">'
    ) in content
    assert "alice assigned it to alice" not in content
    assert fragment.lstrip().startswith('<section id="history" class="card">')
    assert "alice assigned it to alice" in fragment
    assert "<html" not in fragment


def test_an_unknown_part_is_a_clear_400_and_an_unknown_mention_404(
    agent_client, mention
):
    response = part(agent_client, mention, "secrets")

    assert response.status_code == 400
    assert b"history, earlier or details" in response.content
    assert agent_client.get("/mentions/999999/?part=history").status_code == 404


@pytest.mark.parametrize("name", ["history", "earlier", "details"])
def test_the_lazy_parts_need_a_role(client, mention, name):
    anonymous = client.get(f"/mentions/{mention.pk}/?part={name}")
    client.force_login(User.objects.create_user("nobody"))
    refused = client.get(f"/mentions/{mention.pk}/?part={name}")

    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert refused.status_code == 403


def test_the_composer_slot_loads_the_responders_fragment_when_it_exists(
    agent_client, mention
):
    from django.urls import NoReverseMatch, reverse

    content = page(agent_client, mention).content.decode()

    try:
        url = reverse("responders:composer", args=[mention.pk])
    except NoReverseMatch:
        assert '<section id="composer" class="card muted">' in content
    else:
        assert f'<section id="composer" hx-get="{url}" hx-trigger="load">' in content


def test_claiming_over_htmx_answers_the_triage_panel_and_the_history(
    agent_client, agent, mention
):
    response = agent_client.post(
        f"/mentions/{mention.pk}/claim/", headers={"HX-Request": "true"}
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="triage"')
    assert '<section id="history" class="card" hx-swap-oob="true">' in content
    assert "alice assigned it to alice" in content
    mention.refresh_from_db()
    assert mention.assignee == agent


def test_assigning_to_an_agent_and_a_team(agent_client, manager, mention):
    team = Team.objects.create(name="Care")

    agent_client.post(
        f"/mentions/{mention.pk}/assign/", {"assignee": manager.pk, "team": team.pk}
    )

    mention.refresh_from_db()
    assert (mention.assignee, mention.team) == (manager, team)


@pytest.mark.parametrize(
    "status", ["open", "waiting", "resolved", "monitoring", "spam"]
)
def test_every_status_can_be_set(agent_client, mention, status):
    response = agent_client.post(f"/mentions/{mention.pk}/status/", {"status": status})

    assert response.status_code == 302
    mention.refresh_from_db()
    assert mention.status == status


def test_priority_tags_and_notes(agent_client, agent, mention):
    agent_client.post(f"/mentions/{mention.pk}/priority/", {"priority": "1"})
    agent_client.post(f"/mentions/{mention.pk}/tags/", {"tags": "billing, VIP"})
    agent_client.post(
        f"/mentions/{mention.pk}/notes/", {"body": "do not promise a refund"}
    )
    tag = Tag.objects.get(name="vip")
    agent_client.post(f"/mentions/{mention.pk}/tags/{tag.pk}/remove/")

    mention.refresh_from_db()
    assert mention.priority == 1
    assert mention.is_priority_overridden
    assert list(mention.tags.values_list("name", flat=True)) == ["billing"]
    assert mention.notes.get().body == "do not promise a refund"
    kinds = sorted(mention.events.values_list("kind", flat=True))
    assert kinds == ["note", "priority", "tagged", "untagged"]
    assert set(mention.events.values_list("actor", flat=True)) == {agent.pk}


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("status", {"status": "exploded"}, "Select a valid choice"),
        ("priority", {"priority": "9"}, "Select a valid choice"),
        ("notes", {"body": "   "}, "This field is required."),
        ("tags", {"tags": ", ,"}, "Type at least one tag."),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    agent_client, mention, url, data, message
):
    response = agent_client.post(
        f"/mentions/{mention.pk}/{url}/", data, headers={"HX-Request": "true"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert mention.events.count() == 0
    fresh = Mention.objects.get(pk=mention.pk)
    assert (fresh.status, fresh.priority) == (mention.status, mention.priority)


def test_every_action_needs_the_csrf_token(agent, mention):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    for url in ("claim", "status", "priority", "tags", "notes", "assign", "presence"):
        assert (
            client.post(
                f"/mentions/{mention.pk}/{url}/", {"status": "resolved"}
            ).status_code
            == 403
        )
    assert mention.events.count() == 0


def test_actions_answer_only_posts(agent_client, mention):
    assert agent_client.get(f"/mentions/{mention.pk}/claim/").status_code == 405


def test_the_workspace_query_count_does_not_grow_with_the_thread(
    agent_client, account, django_assert_max_num_queries
):
    customer = Author.objects.create(x_id="9", handle="chatty")
    first = make_mention(account, author=customer, conversation_id="long")
    page(agent_client, first)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as short:
        page(agent_client, first)
    for n in range(15):
        m = make_mention(
            account, author=customer, conversation_id="long", text=f"more {n}"
        )
        triage.add_note(m, "note", actor=None, now=timezone.now())

    with django_assert_max_num_queries(len(short.captured_queries)):
        page(agent_client, first)


def test_the_workspace_loads_no_field_it_left_out_later(
    agent_client, agent, account, django_assert_max_num_queries
):
    mention = make_mention(
        account,
        make_stream(account),
        assignee=agent,
        team=Team.objects.create(name="Care"),
        sla_due_at=timezone.now() + timedelta(hours=1),
        sentiment=-0.4,
        priority_reasons=[{"reason": "Keyword: refund", "points": 10}],
    )
    mention.tags.add(Tag.objects.create(name="billing"))
    page(agent_client, mention)  # role checks and option lists are remembered now

    # Session, user, the mention, its conversation, our events, notes, tags, SLA clocks (the page);
    # session, user, the mention and its streams (the details): a narrowed select that missed a
    # field they show would add a query here.
    with django_assert_max_num_queries(8):
        content = page(agent_client, mention).content.decode()
    with django_assert_max_num_queries(4):
        details = part(agent_client, mention, "details").content.decode()

    assert "team Care" in content
    assert "Keyword: refund" in details
    assert "negative" in details


def test_a_prolific_authors_earlier_mentions_are_counted_up_to_a_cap(
    agent_client, account, monkeypatch
):
    from mentions.views import workspace

    monkeypatch.setattr(workspace, "EARLIER_COUNT_CAP", 3)
    customer = Author.objects.create(x_id="77", handle="prolific")
    now = timezone.now()
    for n in range(5):
        make_mention(account, author=customer, created_at=now - timedelta(days=n + 1))
    current = make_mention(account, author=customer, created_at=now)

    content = part(agent_client, current, "earlier").content.decode()

    assert "3+ earlier mentions" in content


def test_the_customers_dm_answers_join_the_thread_after_we_took_it_to_dm(
    client, agent, account, mention
):
    record_event(
        mention,
        MentionEvent.Kind.DM,
        "agent sent a DM",
        actor=agent,
        data={"state": "sent", "dm_conversation_id": "42-900"},
    )
    answer = make_mention(
        account,
        author=mention.author,
        kind=Mention.Kind.DM,
        conversation_id="42-900",
        text="my order number is 123",
        created_at=timezone.now(),
    )
    stranger = make_mention(
        account, kind=Mention.Kind.DM, conversation_id="42-900", text="not theirs"
    )
    client.force_login(agent)

    body = page(client, mention).content.decode()

    assert f'id="post-{answer.pk}"' in body
    assert "my order number is 123" in body
    assert f'id="post-{stranger.pk}"' not in body
