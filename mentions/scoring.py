"""Priority scoring at ingest: how urgent a new mention looks, and why ("why urgent").

`score(...)` is a pure function of the inbound facts (no database, no clock); `score_page` applies it to
one page with the page's author profiles. The points of every factor that applies are added up:

| factor                                            | points                         |
|---------------------------------------------------|--------------------------------|
| direct message                                    | +30                            |
| direct @mention (or a quote of the brand)         | +20                            |
| passing search hit (no @mention)                  | -10                            |
| reach: followers >= 1,000 / 10,000 / 100,000      | +10 / +20 / +30                |
| engagement (likes+reposts+replies+quotes) >= 20 / 100 | +10 / +20                  |
| verified author                                   | +15                            |
| sentiment (VADER compound) <= -0.05 / <= -0.6     | +10 / +25                      |
| asks a question ("?")                             | +5                             |
| each admin keyword (PriorityKeyword) in the text  | the keyword's points           |

Priority from the total: >= 60 urgent, >= 35 high, >= 10 normal, else low.

Monitoring suggestion: a passing post (no @mention, not a DM) that is positive (compound >= 0.05) and asks
nothing (no "?") is suggested for monitoring. It is only a flag; nothing closes the mention.

Sentiment is vaderSentiment's compound score (mentions/sentiment.py: the analyzer is built once per
process, and a port of it returns the library's exact numbers at about a third of the cost).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from mentions.models import Mention, PriorityKeyword
from mentions.sentiment import analyzer, sentiment_of
from mentions.sources.base import InboundAuthor, InboundMention

__all__ = [
    "Keyword",
    "Score",
    "active_keywords",
    "analyzer",
    "score",
    "score_page",
    "sentiment_of",
]

DM_POINTS = 30
DIRECT_POINTS = 20
PASSING_POINTS = -10
REACH_STEPS = ((100_000, 30), (10_000, 20), (1_000, 10))  # followers >= n: points
ENGAGEMENT_STEPS = ((100, 20), (20, 10))
VERIFIED_POINTS = 15
VERY_NEGATIVE, VERY_NEGATIVE_POINTS = -0.6, 25
NEGATIVE, NEGATIVE_POINTS = -0.05, 10
POSITIVE = 0.05  # VADER's usual cut-off, also the queue's sentiment=positive filter
QUESTION_POINTS = 5
PRIORITY_STEPS = (
    (60, Mention.Priority.URGENT),
    (35, Mention.Priority.HIGH),
    (10, Mention.Priority.NORMAL),
)
ENGAGEMENT_METRICS = ("like_count", "retweet_count", "reply_count", "quote_count")
REACH_MIN = REACH_STEPS[-1][0]
# Plain values: comparing with the enum members costs a method call per mention.
_DM = Mention.Kind.DM.value
_LOW = int(Mention.Priority.LOW)
PRIORITY_VALUES = tuple((points, int(level)) for points, level in PRIORITY_STEPS)


@dataclass(frozen=True, slots=True)
class Keyword:
    term: str
    points: int


class Score(NamedTuple):  # a tuple: built ~100 times a page, it has to be cheap
    priority: int  # Mention.Priority value
    points: int
    reasons: tuple[tuple[str, int], ...]
    sentiment: float | None
    is_monitoring_suggested: bool

    def reasons_json(self) -> list[dict[str, Any]]:
        """The stored form (Mention.priority_reasons): [{"reason": ..., "points": ...}, ...]."""
        return [{"reason": reason, "points": points} for reason, points in self.reasons]


def active_keywords() -> list[Keyword]:
    """The admin's active priority keywords; callers load them once per poll, not per mention."""
    return [
        Keyword(term=term, points=points)
        for term, points in PriorityKeyword.objects.filter(is_active=True)
        .order_by("term")
        .values_list("term", "points")
    ]


@dataclass(frozen=True, slots=True)
class _KeywordRules:
    """The active keywords compiled once. Text and terms are compared case-folded, and a term matches
    at the start of a word ("cancel" matches "Cancel", "cancelled", "cancellation"; "sue" does not
    match "issue"). A term listed twice counts with its higher points."""

    terms: tuple[str, ...]
    pattern: re.Pattern[str] | None
    points: dict[str, int]

    def matches(self, text: str) -> list[str]:
        if self.pattern is None:
            return []
        folded = text.casefold()
        # Most texts hold no keyword at all: a substring test settles those without the regex.
        if not any(term in folded for term in self.terms):
            return []
        return list(dict.fromkeys(self.pattern.findall(folded)))


@lru_cache(maxsize=8)
def _keyword_rules(keywords: tuple[Keyword, ...]) -> _KeywordRules:
    points: dict[str, int] = {}
    for k in keywords:
        term = k.term.strip().casefold()
        if term:
            points[term] = max(points.get(term, k.points), k.points)
    if not points:
        return _KeywordRules(terms=(), pattern=None, points={})
    terms = tuple(sorted(points, key=len, reverse=True))  # longest first
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, terms)) + ")")
    return _KeywordRules(terms=terms, pattern=pattern, points=points)


def _engagement(metrics: dict[str, Any] | None) -> int:
    if not isinstance(metrics, dict):
        return 0
    total = 0
    for name in ENGAGEMENT_METRICS:
        value = metrics.get(name)
        if isinstance(value, int) and value > 0:
            total += value
    return total


def score(
    *,
    text: str,
    kind: str,
    summons_brand: bool,
    followers: int = 0,
    verified: bool = False,
    metrics: dict[str, Any] | None = None,
    keywords: Sequence[Keyword] = (),
    sentiment: float | None = None,
) -> Score:
    """Score one inbound mention. `metrics` is X's `public_metrics` of the post (None for DMs);
    `sentiment` may be passed when already known, otherwise VADER computes it."""
    return _score(
        text,
        kind,
        summons_brand,
        followers,
        verified,
        metrics,
        _keyword_rules(tuple(keywords)),
        sentiment_of(text) if sentiment is None else sentiment,
    )


def _score(
    text: str,
    kind: str,
    summons_brand: bool,
    followers: int,
    verified: bool,
    metrics: dict[str, Any] | None,
    rules: _KeywordRules,
    sentiment: float,
) -> Score:
    reasons: list[tuple[str, int]] = []
    is_dm = kind == _DM
    if is_dm:
        reasons.append(("Direct message", DM_POINTS))
    elif summons_brand:
        reasons.append(("Direct @mention", DIRECT_POINTS))
    else:
        reasons.append(("Passing mention (no @mention)", PASSING_POINTS))
    if followers >= REACH_MIN:
        for threshold, points in REACH_STEPS:
            if followers >= threshold:
                reasons.append((f"Reach: {followers:,} followers", points))
                break
    if metrics:
        engagement = _engagement(metrics)
        for threshold, points in ENGAGEMENT_STEPS:
            if engagement >= threshold:
                reasons.append(
                    (f"Engagement: {engagement:,} likes, reposts and replies", points)
                )
                break
    if verified:
        reasons.append(("Verified author", VERIFIED_POINTS))
    if sentiment <= VERY_NEGATIVE:
        reasons.append((f"Very negative tone ({sentiment:+.2f})", VERY_NEGATIVE_POINTS))
    elif sentiment <= NEGATIVE:
        reasons.append((f"Negative tone ({sentiment:+.2f})", NEGATIVE_POINTS))
    asks = "?" in text
    if asks:
        reasons.append(("Asks a question", QUESTION_POINTS))
    for term in rules.matches(text):
        reasons.append((f"Keyword “{term}”", rules.points[term]))
    total = 0
    for _, points in reasons:
        total += points
    priority = _LOW
    for threshold, level in PRIORITY_VALUES:
        if total >= threshold:
            priority = level
            break
    return Score(
        priority,
        max(-32768, min(32767, total)),  # priority_score is a smallint
        tuple(reasons),
        sentiment,
        not is_dm and not summons_brand and sentiment >= POSITIVE and not asks,
    )


def score_page(
    mentions: Iterable[InboundMention],
    authors: Iterable[InboundAuthor],
    *,
    keywords: Sequence[Keyword],
) -> dict[str, Score]:
    """Score the mentions of one page with the page's author profiles (placeholders count as unknown)."""
    profiles = {a.x_id: a for a in authors if a.complete}
    rules = _keyword_rules(tuple(keywords))
    scores: dict[str, Score] = {}
    for m in mentions:
        author = profiles.get(m.author_x_id)
        known = _recent_sentiments.get(m.x_id)
        if known is not None and known[0] == m.text:
            sentiment = known[1]
        else:
            sentiment = _remember(m.x_id, m.text, sentiment_of(m.text))
        scores[m.x_id] = _score(
            m.text,
            m.kind,
            m.summons_brand,
            author.followers_count if author else 0,
            author.verified if author else False,
            m.raw.get("public_metrics"),
            rules,
            sentiment,
        )
    return scores


# Redelivered posts (overlapping pages, a post matched by both the search and the @mentions stream) are
# scored again before the insert finds them stored; VADER is most of that cost, and a post's text never
# changes under its id (an edit is a new id), so the last few thousand results are kept per process (with
# the text, compared on use).
_RECENT_LIMIT = 5_000
_recent_sentiments: dict[str, tuple[str, float]] = {}  # x_id -> (text, compound)


def _remember(x_id: str, text: str, sentiment: float) -> float:
    if len(_recent_sentiments) >= _RECENT_LIMIT:
        # dicts keep insertion order: drop the oldest half at once rather than one entry per call
        for key in list(_recent_sentiments)[: _RECENT_LIMIT // 2]:
            del _recent_sentiments[key]
    _recent_sentiments[x_id] = (text, sentiment)
    return sentiment
