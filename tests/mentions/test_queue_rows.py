"""Queue rows built in Python (mentions/queue_rows.py): every value escaped, the SLA markup kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.utils import timezone

from mentions import queue, queue_rows
from mentions.models import Author, Mention, Stream, Tag, Team
from tests.mentions.queue_helpers import (
    fresh_cache,  # noqa: F401  (autouse)
    make_account,
    make_mention,
)

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
ESCAPED = "&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"


def _row(mention: Mention) -> str:
    now = timezone.now()
    (shown,) = queue.with_keys(
        list(queue.for_display(Mention.objects.filter(pk=mention.pk)))
    )
    return queue_rows.row_html(shown, now=now, detail_prefix="/mentions/")


@pytest.mark.parametrize(
    ("due_in", "warn_in", "hint"),
    [
        (None, None, ""),
        (timedelta(minutes=30), None, "due 10:30 business hours"),
        (timedelta(hours=2), timedelta(hours=1), "Mon 09:00"),
        (timedelta(minutes=-5), timedelta(minutes=-20), PAYLOAD),
    ],
)
def test_the_countdown_is_the_sla_apps_markup(due_in, warn_in, hint):
    now = timezone.now()
    mention = Mention(
        sla_due_at=now + due_in if due_in is not None else None,
        sla_warning_at=now + warn_in if warn_in is not None else None,
        sla_hint=hint,
    )

    expected = render_to_string("sla/_countdown.html", {"mention": mention}).strip()

    assert str(queue_rows.countdown_html(mention)) == expected


def test_every_shown_value_is_escaped():
    account = make_account()
    stream = Stream.objects.create(
        account=account, kind=Stream.Kind.SEARCH, name=PAYLOAD, query="acme"
    )
    assignee = User.objects.create_user(username="<b>bob</b>")
    mention = make_mention(
        account,
        stream,
        text=PAYLOAD,
        name=PAYLOAD,
        handle="<i>h</i>",
        assignee=assignee,
        team=Team.objects.create(name=PAYLOAD),
        sla_due_at=timezone.now() + timedelta(hours=1),
        sla_hint=PAYLOAD,
        sentiment=-0.5,
    )
    mention.tags.add(Tag.objects.create(name="<u>tag</u>"))

    html = _row(mention)

    assert "<script" not in html
    assert "<img" not in html
    assert "<b>bob" not in html
    assert "<u>tag" not in html
    assert "<i>h" not in html
    assert html.count(ESCAPED) == 5  # text, name, stream, team, SLA hint
    assert "&lt;b&gt;bob&lt;/b&gt;" in html
    assert "@&lt;i&gt;h&lt;/i&gt;" in html
    assert '<span class="badge tag">&lt;u&gt;tag&lt;/u&gt;</span>' in html


def test_a_row_shows_what_the_queue_merges_by_and_the_details():
    account = make_account()
    author = Author.objects.create(x_id="5", handle="vip", name="", verified=True)
    mention = make_mention(
        account,
        author=author,
        text="x" * 250,
        kind=Mention.Kind.DM,
        priority=Mention.Priority.URGENT,
        sentiment=0.3,
    )

    html = _row(mention)

    assert html.startswith(
        f'<tr id="mention-{mention.pk}" class="mention-row status-new" '
        f'data-id="{mention.pk}" data-key="{queue.Key.of(mention).encode()}" '
        f'data-version="{queue.to_micros(mention.updated_at)}" '
        f'data-url="/mentions/{mention.pk}/">'
    )
    assert html.rstrip().endswith("</tr>")
    assert f'<a href="/mentions/{mention.pk}/" class="open">{"x" * 199}…</a>' in html
    assert ' <span class="badge">DM</span>' in html
    assert "<strong>vip</strong>" in html  # no name: the handle
    assert 'title="Verified"' in html
    assert '<span class="badge priority-4">Urgent</span>' in html
    assert 'title="VADER compound 0.30">positive</span>' in html
    assert '<span class="muted">—</span>' in html  # nobody assigned
    assert 'class="sla-countdown"' not in html  # no clock running
