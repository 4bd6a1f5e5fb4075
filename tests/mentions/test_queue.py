"""The queue page: access, saved views, filters, urgency order, keyset pages, fragments, query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mentions import queue
from mentions.models import Mention, MentionStream, Tag, Team
from mentions.sla.models import SlaClock
from tests.mentions.queue_helpers import (
    clear_caches,
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
    make_stream,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return make_account()


@pytest.fixture
def stream(account):
    return make_stream(account)


def ids(response) -> list[int]:
    return [m.pk for m in response.context["mentions"]]


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get("/mentions/?view=mine")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_logged_in_user_without_a_role_is_refused(client):
    client.force_login(User.objects.create_user("mallory", password="x"))

    assert client.get("/mentions/").status_code == 403


@pytest.mark.parametrize("persona", ["agent", "manager", "admin_user"])
def test_agents_managers_and_admins_see_the_queue(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/mentions/?view=all").status_code == 200


def test_the_most_urgent_comes_first(agent_client, account, stream):
    now = timezone.now()
    no_clock_urgent = make_mention(account, stream, priority=4)
    due_later = make_mention(account, stream, sla_due_at=now + timedelta(hours=2))
    due_soon_low = make_mention(
        account, stream, sla_due_at=now + timedelta(minutes=5), priority=1
    )
    due_soon_high = make_mention(
        account, stream, sla_due_at=now + timedelta(minutes=5), priority=3
    )
    no_clock_old = make_mention(
        account, stream, priority=4, created_at=now - timedelta(days=1)
    )

    response = agent_client.get("/mentions/")

    assert ids(response) == [
        due_soon_high.pk,
        due_soon_low.pk,
        due_later.pk,
        no_clock_old.pk,
        no_clock_urgent.pk,
    ]


def test_the_default_view_shows_only_open_work(agent_client, account, stream):
    new = make_mention(account, stream)
    opened = make_mention(account, stream, status=Mention.Status.OPEN)
    for status in ("waiting", "resolved", "monitoring", "spam"):
        make_mention(account, stream, status=status)

    assert set(ids(agent_client.get("/mentions/"))) == {new.pk, opened.pk}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"mine"}),
        ("unassigned", {"unassigned", "breaching"}),
        ("breaching", {"breaching"}),
        ("waiting", {"waiting"}),
        ("monitoring", {"monitoring"}),
        (
            "all",
            {"mine", "unassigned", "breaching", "waiting", "monitoring", "resolved"},
        ),
    ],
)
def test_each_saved_view_shows_its_mentions(
    agent_client, agent, manager, account, stream, view, expected
):
    now = timezone.now()
    made = {
        "mine": make_mention(account, stream, assignee=agent, status="open"),
        "unassigned": make_mention(account, stream),
        "breaching": make_mention(
            account, stream, sla_due_at=now + timedelta(minutes=20)
        ),
        "waiting": make_mention(account, stream, status="waiting", assignee=agent),
        "monitoring": make_mention(account, stream, status="monitoring"),
        "resolved": make_mention(account, stream, status="resolved", assignee=manager),
    }
    make_mention(account, stream, status="open", assignee=manager)  # someone else's
    if view == "all":
        expected = expected | {"someone"}

    shown = set(ids(agent_client.get(f"/mentions/?view={view}")))

    names = {name for name, m in made.items() if m.pk in shown}
    assert names == expected - {"someone"}
    assert len(shown) == len(expected)


def test_filters_combine_and_repeated_values_mean_or(
    agent_client, agent, account, stream
):
    other_stream = make_stream(account, "search")
    team = Team.objects.create(name="Billing")
    billing = Tag.objects.create(name="billing")
    match_a = make_mention(
        account, stream, priority=4, sentiment=-0.6, team=team, lang="en"
    )
    match_b = make_mention(
        account, other_stream, priority=3, sentiment=-0.2, team=team, lang="en"
    )
    make_mention(account, stream, priority=2, sentiment=-0.6, team=team, lang="en")
    make_mention(account, stream, priority=4, sentiment=0.7, team=team, lang="en")
    make_mention(account, stream, priority=4, sentiment=-0.6, lang="en")
    make_mention(account, stream, priority=4, sentiment=-0.6, team=team, lang="de")
    for m in (match_a, match_b):
        m.tags.add(billing)

    response = agent_client.get(
        f"/mentions/?priority=4&priority=3&sentiment=negative&team={team.pk}&lang=en&tag=Billing"
        f"&stream={stream.pk}&stream={other_stream.pk}"
    )

    assert set(ids(response)) == {match_a.pk, match_b.pk}


@pytest.mark.parametrize("both", [False, True])
def test_the_stream_filter_lists_a_mention_that_matched_several_streams_once(
    agent_client, account, stream, both
):
    other_stream = make_stream(account, "search")
    in_both = make_mention(account, stream)
    MentionStream.objects.create(mention=in_both, stream=other_stream)
    only_other = make_mention(account, other_stream)
    make_mention(account, make_stream(account, "third"))
    query = f"stream={stream.pk}" + (f"&stream={other_stream.pk}" if both else "")

    shown = ids(agent_client.get(f"/mentions/?{query}"))

    assert sorted(shown) == sorted(
        [in_both.pk, only_other.pk] if both else [in_both.pk]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("me", {"mine"}),
        ("none", {"nobody"}),
        ("any", {"mine", "theirs"}),
    ],
)
def test_the_assignee_filter(agent_client, agent, manager, account, value, expected):
    made = {
        "mine": make_mention(account, assignee=agent),
        "theirs": make_mention(account, assignee=manager),
        "nobody": make_mention(account),
    }

    shown = set(ids(agent_client.get(f"/mentions/?assignee={value}")))

    assert shown == {made[n].pk for n in expected}


def test_the_assignee_filter_takes_a_user_id_and_none_together(
    agent_client, manager, account
):
    theirs = make_mention(account, assignee=manager)
    nobody = make_mention(account)

    response = agent_client.get(f"/mentions/?assignee={manager.pk}&assignee=none")

    assert set(ids(response)) == {theirs.pk, nobody.pk}


def test_free_text_searches_the_text_and_the_author(agent_client, account):
    by_text = make_mention(account, text="The REFUND never came")
    by_handle = make_mention(account, handle="refundhunter", text="hello")
    make_mention(account, text="all good")

    assert set(ids(agent_client.get("/mentions/?q=refund"))) == {
        by_text.pk,
        by_handle.pk,
    }


def test_kind_status_and_dates_filter(agent_client, account):
    now = timezone.now()
    dm = make_mention(
        account, kind="dm", status="waiting", created_at=now - timedelta(days=2)
    )
    make_mention(
        account, kind="dm", status="waiting", created_at=now - timedelta(days=9)
    )
    make_mention(
        account, kind="post", status="waiting", created_at=now - timedelta(days=2)
    )
    day = (now - timedelta(days=2)).date().isoformat()

    response = agent_client.get(
        f"/mentions/?kind=dm&status=waiting&status=open&from={day}&to={day}"
    )

    assert ids(response) == [dm.pk]


def test_the_sla_filter_reads_the_clocks(agent_client, account):
    now = timezone.now()
    breached = make_mention(account)
    late = make_mention(account)
    make_mention(account)
    for mention, state, is_late in ((breached, "breached", True), (late, "met", True)):
        SlaClock.objects.create(
            mention=mention,
            target="first_response",
            state=state,
            is_late=is_late,
            target_seconds=3600,
            started_at=now - timedelta(hours=2),
            due_at=now - timedelta(hours=1),
        )

    assert ids(agent_client.get("/mentions/?sla=breached")) == [breached.pk]
    assert ids(agent_client.get("/mentions/?sla=met_late")) == [late.pk]
    assert ids(agent_client.get("/mentions/?sla=met")) == []


def test_an_invalid_filter_is_reported_and_ignored(agent_client, account):
    mention = make_mention(account)

    response = agent_client.get("/mentions/?priority=9&sentiment=angry")

    assert ids(response) == [mention.pk]
    content = response.content.decode()
    assert "priority: Select a valid choice" in content
    assert "this filter is ignored" in content


def test_a_malformed_page_cursor_is_a_clear_400(agent_client):
    response = agent_client.get("/mentions/?after=12;drop")

    assert response.status_code == 400
    assert b"cursor" in response.content


def test_keyset_pages_have_no_duplicates_or_gaps_with_equal_sort_keys(
    agent_client, account, settings, monkeypatch
):
    monkeypatch.setattr(queue, "PAGE_SIZE", 7)
    now = timezone.now()
    due = now + timedelta(minutes=30)
    # Ties on every sort column but id, plus a few distinct keys around them.
    made = [
        make_mention(account, sla_due_at=due, priority=3, created_at=now)
        for _ in range(12)
    ]
    made += [make_mention(account, sla_due_at=due, priority=2) for _ in range(5)]
    made += [make_mention(account) for _ in range(6)]

    seen: list[int] = []
    url = "/mentions/?view=all"
    for _ in range(10):
        response = agent_client.get(url)
        seen += ids(response)
        if not response.context["more_url"]:
            break
        url = response.context["more_url"]

    assert len(seen) == len(set(seen)) == len(made)
    expected = sorted(made, key=lambda m: queue.Key.of(m).encode().split("."))
    assert seen == [
        m.pk
        for m in sorted(
            made,
            key=lambda m: (
                m.sla_due_at or queue.NO_DUE_AT,
                -m.priority,
                m.created_at,
                m.pk,
            ),
        )
    ]
    assert expected  # the encoded key round-trips (decoded below)
    assert queue.Key.decode(queue.Key.of(made[0]).encode()) == queue.Key.of(made[0])


def test_load_more_over_htmx_answers_rows_and_the_next_link_only(
    agent_client, account, monkeypatch
):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    for _ in range(5):
        make_mention(account)
    first = agent_client.get("/mentions/")

    response = agent_client.get(
        first.context["more_url"],
        headers={"HX-Request": "true", "HX-Target": "mention-rows"},
    )

    content = response.content.decode()
    assert "<html" not in content
    assert content.count('class="mention-row') == 2
    assert 'id="queue-more" hx-swap-oob="true"' in content


def test_changing_filters_over_htmx_answers_only_the_table(agent_client, account):
    make_mention(account, text="only this")

    response = agent_client.get(
        "/mentions/?q=only",
        headers={"HX-Request": "true", "HX-Target": "mention-table"},
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<div id="mention-table"')
    assert "only this" in content
    assert "<html" not in content
    assert "queue-filters" not in content


def test_each_row_shows_what_an_agent_needs(agent_client, agent, account, stream):
    team = Team.objects.create(name="Care")
    mention = make_mention(
        account,
        stream,
        text="where is my refund",
        name="Dana Q",
        handle="danaq",
        priority=4,
        sentiment=-0.7,
        assignee=agent,
        team=team,
        status="open",
        sla_due_at=timezone.now() + timedelta(minutes=10),
    )
    mention.tags.add(Tag.objects.create(name="billing"))

    content = agent_client.get("/mentions/").content.decode()

    for expected in (
        "Dana Q",
        "@danaq",
        "where is my refund",
        "@mentions",
        "Open",
        "Urgent",
        "alice",
        "Care",
        "negative",
        "billing",
        'class="sla-countdown"',
    ):
        assert expected in content


def _count(client, *, cold: bool):
    if cold:
        clear_caches()
    else:
        client.get("/mentions/")  # every row is in the row cache now
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/mentions/")
    return (
        len(queries.captured_queries),
        len(response.context["mentions"]),
        [q["sql"] for q in queries.captured_queries],
    )


def test_the_queue_query_count_is_the_same_for_5_and_50_rows(
    agent_client, agent, account, stream
):
    tag = Tag.objects.create(name="billing")
    team = Team.objects.create(name="Care")

    def add(n):
        for _ in range(n):
            m = make_mention(account, stream, assignee=agent, team=team)
            m.tags.add(tag)

    add(5)
    cold_5, warm_5 = _count(agent_client, cold=True), _count(agent_client, cold=False)
    add(45)
    cold_50, warm_50 = _count(agent_client, cold=True), _count(agent_client, cold=False)

    assert (cold_5[1], cold_50[1]) == (5, 50)
    # Rows rendered: the keys, the rows, their streams and tags, whatever the number of rows.
    assert cold_50[0] == cold_5[0], (cold_5[2], cold_50[2])
    # Rows from the row cache: no row, stream or tag queries at all.
    assert warm_50[0] == warm_5[0] < cold_5[0]
    assert not any("mentions_mentionstream" in sql for sql in warm_50[2])
    assert not any("mentions_mention_tags" in sql for sql in warm_50[2])


def test_a_cached_row_is_rendered_again_when_its_sla_or_author_changes(
    agent_client, account, stream
):
    mention = make_mention(account, stream, name="Old Name")
    agent_client.get("/mentions/")
    Mention.objects.filter(pk=mention.pk).update(
        sla_due_at=timezone.now() + timedelta(minutes=30)
    )
    type(mention.author).objects.filter(pk=mention.author_id).update(
        name="New Name", updated_at=timezone.now()
    )

    content = agent_client.get("/mentions/").content.decode()

    assert "New Name" in content
    assert 'class="sla-countdown"' in content


def test_only_our_own_rendered_rows_are_trusted_from_the_cache(
    agent_client, account, stream, monkeypatch
):
    from mentions import queue_rows

    make_mention(account, stream, text="plain text")
    agent_client.get("/mentions/")
    for key in list(_row_keys(queue_rows)):
        cache.set(
            key, "<script>window.pwned=1</script>"
        )  # a plain str, not our SafeString
    queue_rows.clear_local_cache()  # as another worker would: only the shared cache has the row

    content = agent_client.get("/mentions/").content.decode()

    assert "<script>window.pwned" not in content
    assert "plain text" in content


def _row_keys(queue_rows):
    qs = Mention.objects.order_by("id")
    now = timezone.now()
    return [queue_rows._cache_key(s, now) for s in queue_rows.stamps(qs)]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "mentions_mention_open_urgency"),
        ({"view": "breaching"}, "mentions_mention_open_urgency"),
        ({"view": "mine"}, "mentions_mention_mine"),
        ({"view": "all"}, "mentions_mention_urgency"),
        ({"view": "waiting"}, "mentions_mention_status_due"),
        ({"view": "waiting", "priority": [3, 4]}, "mentions_mention_status_due"),
        ({"sentiment": ["negative"], "stream": ["1"]}, "mentions_mention_open_urgency"),
        ({"stream": ["1", "2"]}, "mentions_mention_open_urgency"),
    ],
)
def test_postgres_reads_a_page_as_one_index_range_without_sorting(
    agent, account, filters, index
):
    mention = make_mention(account)
    qs = queue.filtered(filters, user=agent, now=timezone.now())
    qs = qs.filter(queue._after(queue.Key.of(mention))).order_by(*queue.ORDER)[:50]
    sql, params = qs.values_list("id", flat=True).query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert index in plan
    assert "Sort" not in plan
    assert "Index Cond" in plan  # the cursor is a range bound, not a filter
