from __future__ import annotations

import pytest

from responders import canned
from responders.models import GuardSettings
from responders.text import weighted_length
from tests.responders.conftest import make_mention


def test_it_fills_allowed_placeholders():
    body = "Hi {{ author.handle }}, {{agent.first_name}} here from {{ brand.handle }}."
    values = {
        "author.handle": "@carol",
        "agent.first_name": "Alice",
        "brand.handle": "@Acme",
    }
    assert (
        canned.render_placeholders(body, values) == "Hi @carol, Alice here from @Acme."
    )


def test_unknown_placeholders_and_template_tags_stay_literal():
    body = "{{ settings.SECRET_KEY }} {% debug %} {{ author.handle|upper }}"
    assert canned.render_placeholders(body, {"author.handle": "@x"}) == body


def test_a_value_that_looks_like_a_placeholder_is_not_rendered_again():
    values = {
        "author.name": "{{ agent.first_name }} {% load x %}",
        "agent.first_name": "Alice",
    }
    assert (
        canned.render_placeholders("Hi {{ author.name }}", values)
        == "Hi {{ agent.first_name }} {% load x %}"
    )


def test_placeholder_values_use_the_customer_text_verbatim(account, agent):
    mention = make_mention(
        account, handle="evil", name="<script>{{ brand.handle }}</script>"
    )
    values = canned.placeholder_values(mention, agent, guard=GuardSettings.load())
    rendered = canned.render_placeholders(
        "Hi {{ author.name }} - {{ agent.first_name }}", values
    )
    assert rendered == "Hi <script>{{ brand.handle }}</script> - Alice"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("see https://example.com/a/very/long/path/that/goes/on/and/on", 27),
        ("日本語", 6),
        ("ok 😀", 5),
        ("👩‍👩‍👧‍👦", 2),
    ],
)
def test_weighted_length_follows_x_rules(text, expected):
    assert weighted_length(text).weighted == expected


def test_over_long_text_is_invalid():
    assert weighted_length("a" * 280).is_valid is True
    assert weighted_length("a" * 281).is_valid is False
    assert weighted_length("日" * 141).is_valid is False
