from __future__ import annotations

import random
from collections import Counter

import pytest
from django.core.management import call_command

from mentions.sandbox import generator, services
from mentions.sandbox.models import SandboxDMEvent, SandboxPost

THREADS = (generator.ThreadCandidate(42, "jane"),)


def _plan(seed, n=300):
    rng = random.Random(seed)
    return [generator.plan_item(rng, "AcmeHelp", threads=THREADS) for _ in range(n)]


def test_it_is_reproducible_with_a_seed():
    assert _plan(7) == _plan(7)
    assert _plan(7) != _plan(8)


def test_it_produces_every_category():
    assert set(Counter(item.category for item in _plan(1))) == set(generator.CATEGORIES)


def test_it_sets_the_language_of_foreign_posts():
    foreign = [item for item in _plan(2) if item.category == "foreign"]

    assert {item.lang for item in foreign} >= {"es", "fr", "de", "pt", "ja"}
    assert all(item.lang == "en" for item in _plan(2) if item.category != "foreign")


def test_noise_matches_the_brand_name_without_mentioning_it():
    noise = [item for item in _plan(3) if item.category == "noise"]

    assert noise
    assert all(
        "@AcmeHelp" not in item.text and "Acme Help" in item.text for item in noise
    )


def test_it_includes_personal_data_and_large_accounts():
    items = _plan(4, n=600)

    assert any("@example.com" in item.text or "+44" in item.text for item in items)
    assert any(
        item.author.followers_count > 200_000 and item.author.verified for item in items
    )


@pytest.mark.django_db
def test_it_continues_threads_including_replies_to_the_brand():
    brand = services.create_user("AcmeHelp", "Acme")
    jane = services.create_user("jane", "Jane")
    question = services.create_post(jane, "@AcmeHelp help")
    answer = services.create_post(brand, "@jane sure, DM us", in_reply_to=question)

    threads = generator.thread_candidates(brand)
    item = generator.plan_item(
        random.Random(0), "AcmeHelp", threads=threads, category="thread"
    )
    post = generator.emit_item(item, brand)

    assert generator.ThreadCandidate(answer.id, "jane") in threads
    assert post.author == jane
    assert post.conversation_id == question.id


@pytest.mark.django_db
def test_the_command_creates_count_items():
    services.create_user("AcmeHelp", "Acme")

    call_command(
        "sandboxtraffic",
        "--brand",
        "AcmeHelp",
        "--rate",
        "1000",
        "--count",
        "15",
        "--seed",
        "5",
    )

    assert SandboxPost.objects.count() + SandboxDMEvent.objects.count() == 15
