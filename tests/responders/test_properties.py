"""Property tests: hostile placeholder values never get rendered; every Luhn-valid card is caught."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from responders import canned, guards


@given(st.text())
def test_a_placeholder_value_comes_out_exactly_as_it_went_in(value):
    values = {"author.name": value, "agent.first_name": "Alice"}
    assert canned.render_placeholders("<{{ author.name }}>", values) == f"<{value}>"


@given(st.text(alphabet=st.sampled_from("{} %#abc.author_hndle")))
def test_bodies_without_allowed_placeholders_are_left_alone(body):
    rendered = canned.render_placeholders(body, {})
    assert rendered == body


def _with_check_digit(payload: str) -> str:
    for d in "0123456789":
        if guards.luhn_ok(payload + d):
            return payload + d
    raise AssertionError(payload)


@settings(deadline=None)  # the first call loads phonenumbers' metadata
@given(
    st.text(alphabet="0123456789", min_size=12, max_size=18),
    st.sampled_from(["", " ", "-"]),
)
def test_every_luhn_valid_number_of_13_to_19_digits_is_found(payload, separator):
    number = _with_check_digit(payload)
    grouped = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    found = guards.scan_text(f"card: {grouped}.", region="")
    assert [f.kind for f in found] == ["card"]
