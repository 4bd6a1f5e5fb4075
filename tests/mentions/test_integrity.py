"""The relations ingest writes without database foreign keys stay whole (mentions.integrity).

Ingest keeps them consistent itself, and Django's on_delete (PROTECT, CASCADE, SET_NULL) runs in Python
for every ORM delete, so the missing constraints change nothing a user can do through the app.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import ProtectedError

from mentions.ingest import store_page
from mentions.integrity import RELATIONS, orphans
from mentions.models import (
    Author,
    Mention,
    MentionStream,
    Stream,
    Team,
    Thread,
    XAccount,
)
from tests.mentions.test_ingest import NOW, author, mention, placeholder

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Team:
    return Team.objects.create(name="Care")


@pytest.fixture
def stream(team: Team) -> Stream:
    account = XAccount.objects.create(handle="Brand", x_user_id="1", access_token="t")
    return Stream.objects.create(
        account=account, kind="search", name="s", query="brand", team=team
    )


def ingest(stream: Stream) -> None:
    pages = [
        (
            [mention("1", "7"), mention("2", "7", conversation="1"), mention("3", "8")],
            [author("7"), placeholder("8")],
        ),
        (
            [mention("3", "8"), mention("4", "9", conversation="1")],
            [author("8"), author("9")],
        ),
    ]
    for mentions, authors in pages:
        with transaction.atomic():
            store_page(
                account_id=stream.account_id,
                stream_id=stream.pk,
                mentions=mentions,
                authors=authors,
                now=NOW,
            )


def test_ingested_rows_have_every_parent(stream: Stream) -> None:
    ingest(stream)

    assert Mention.objects.count() == 4
    assert orphans() == {name: 0 for name, *_ in RELATIONS}
    assert set(Mention.objects.values_list("team_id", flat=True)) == {stream.team_id}


def test_the_command_reports_an_orphan_written_around_the_app(stream: Stream) -> None:
    ingest(stream)
    with connection.cursor() as cursor:  # what a raw DELETE would leave behind
        cursor.execute("DELETE FROM mentions_stream WHERE id = %s", [stream.pk])

    assert orphans()["mentionstream.stream"] == 4
    with pytest.raises(CommandError, match=r"mentionstream\.stream 4"):
        call_command("checkintegrity", stdout=io.StringIO())


def test_the_command_passes_on_a_whole_database(
    stream: Stream, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(stream)

    call_command("checkintegrity")

    assert "ok: no orphaned rows" in capsys.readouterr().out


def test_orm_deletes_keep_the_relations_whole(stream: Stream, team: Team) -> None:
    ingest(stream)
    first = Mention.objects.get(x_id="1")

    with pytest.raises(ProtectedError):  # authors, threads and accounts are protected
        Author.objects.get(x_id="7").delete()
    with pytest.raises(ProtectedError):
        Thread.objects.filter(mentions=first).get().delete()
    with pytest.raises(ProtectedError):
        stream.account.delete()

    first.delete()  # CASCADE: its stream link goes with it
    team.delete()  # SET_NULL on the mentions
    Stream.objects.filter(pk=stream.pk).delete()  # CASCADE: the remaining links

    assert MentionStream.objects.count() == 0
    assert set(Mention.objects.values_list("team_id", flat=True)) == {None}
    assert orphans() == {name: 0 for name, *_ in RELATIONS}
