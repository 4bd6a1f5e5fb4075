"""X's weighted post length (twitter-text v3 rules: URLs count 23, CJK and emoji count 2)."""

from __future__ import annotations

from dataclasses import dataclass

from twitter_text import parse_tweet

MAX_WEIGHTED_LENGTH = 280


@dataclass(frozen=True)
class Length:
    weighted: int
    is_valid: bool

    @property
    def remaining(self) -> int:
        return MAX_WEIGHTED_LENGTH - self.weighted


def weighted_length(text: str) -> Length:
    """The authoritative count (twitter-text-parser); composer.js mirrors it for the live counter."""
    result = parse_tweet(text)
    return Length(
        weighted=int(result.weightedLength),
        is_valid=bool(result.valid)
        and int(result.weightedLength) <= MAX_WEIGHTED_LENGTH,
    )
