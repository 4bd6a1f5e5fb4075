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

Sentiment is vaderSentiment's compound score. The analyzer is built once per process; `_FastAnalyzer`
returns exactly vaderSentiment's numbers (tests/mentions/test_scoring.py compares them on real tweets)
while skipping work that cannot change them, which halves its cost per mention.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from vaderSentiment import vaderSentiment as vader  # noqa: N813 - the module's own name

from mentions.models import Mention, PriorityKeyword
from mentions.sources.base import InboundAuthor, InboundMention

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


class _FastAnalyzer(vader.SentimentIntensityAnalyzer):  # type: ignore[misc]  # untyped library
    """vaderSentiment's analyzer with the same results and less work per text.

    A faithful port of `polarity_scores` and the per-word rules it calls, minus work that cannot change
    the result:
    - emoji translation walks the text one character at a time, concatenating strings; a text without
      any emoji character comes out unchanged, so that walk is skipped for it;
    - a word that is not in the lexicon (or is a booster) gets valence 0 in the original too; it is
      decided here without a method call;
    - the original lower-cases the whole text's word list again inside each check, for each word; here
      it is lower-cased once per text.
    tests/mentions/test_scoring.py checks that the compound scores equal vaderSentiment's on real tweets.
    """

    def __init__(self) -> None:
        super().__init__()
        singles = sorted(k for k in self.emojis if len(k) == 1)
        self._emoji_chars = frozenset(singles)

    def _translate_emoji(self, text: str) -> str:
        """The original's character walk, with a list instead of string concatenation: each emoji becomes
        its description, spaced from a preceding non-space character."""
        out: list[str] = []
        prev_space = True
        for ch in text:
            if ch in self._emoji_chars:
                if not prev_space:
                    out.append(" ")
                out.append(self.emojis[ch])
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)

    def compound(self, text: str) -> float:
        """polarity_scores(text)["compound"]."""
        if not self._emoji_chars.isdisjoint(text):
            text = self._translate_emoji(text)
        text = text.strip()
        words = [
            token if len(stripped := token.strip(_PUNCTUATION)) <= 2 else stripped
            for token in text.split()
        ]
        lowered = [w.lower() for w in words]
        lexicon = self.lexicon
        boosters = vader.BOOSTER_DICT
        hits = [
            i for i, low in enumerate(lowered) if low in lexicon and low not in boosters
        ]
        if not hits:  # every word has valence 0: so has the text
            return 0.0
        uppers = sum(1 for w in words if w.isupper())
        is_cap_diff = 0 < len(words) - uppers < len(words)
        last = len(words) - 1
        sentiments: list[float] = [0] * len(words)
        for i in hits:
            if i < last and lowered[i] == "kind" and lowered[i + 1] == "of":
                continue
            sentiments[i] = self._valence(words, lowered, i, is_cap_diff)
        _but_check(lowered, sentiments)
        total = float(sum(sentiments))
        emphasis = self._punctuation_emphasis(text)
        if total > 0:
            total += emphasis
        elif total < 0:
            total -= emphasis
        return float(round(vader.normalize(total), 4))

    def _valence(
        self, words: list[str], lowered: list[str], i: int, is_cap_diff: bool
    ) -> float:
        """`sentiment_valence` for a lexicon word (same rules, same order)."""
        lexicon = self.lexicon
        low = lowered[i]
        valence: float = lexicon[low]
        if low == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowered[i - 1] == "no")
            or (i > 1 and lowered[i - 2] == "no")
            or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[low] * vader.N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence = valence + vader.C_INCR if valence > 0 else valence - vader.C_INCR
        for start_i in range(0, 3):
            if i > start_i and lowered[i - (start_i + 1)] not in lexicon:
                s = vader.scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
        # _least_check
        if i > 1 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
            if lowered[i - 2] != "at" and lowered[i - 2] != "very":
                valence = valence * vader.N_SCALAR
        elif i > 0 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
            valence = valence * vader.N_SCALAR
        return valence


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    if start_i == 0 and _negated(lowered[i - 1]):
        valence = valence * vader.N_SCALAR
    if start_i == 1:
        if lowered[i - 2] == "never" and lowered[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            pass
        elif _negated(lowered[i - 2]):
            valence = valence * vader.N_SCALAR
    if start_i == 2:
        if (lowered[i - 3] == "never" and lowered[i - 2] in ("so", "this")) or lowered[
            i - 1
        ] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 3] == "without" and "doubt" in (
            lowered[i - 2],
            lowered[i - 1],
        ):
            pass
        elif _negated(lowered[i - 3]):
            valence = valence * vader.N_SCALAR
    return valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    # Negative indexes wrap around at the start of the text, exactly as in vaderSentiment.
    window = (
        lowered[i - 3],
        lowered[i - 2],
        lowered[i - 1],
        lowered[i],
        *lowered[i + 1 : i + 3],
    )
    if _IDIOM_WORDS.isdisjoint(window):  # no idiom or two-word booster can match here
        return valence
    special, boosters = vader.SPECIAL_CASES, vader.BOOSTER_DICT
    onezero = f"{lowered[i - 1]} {lowered[i]}"
    twoonezero = f"{lowered[i - 2]} {lowered[i - 1]} {lowered[i]}"
    twoone = f"{lowered[i - 2]} {lowered[i - 1]}"
    threetwoone = f"{lowered[i - 3]} {lowered[i - 2]} {lowered[i - 1]}"
    threetwo = f"{lowered[i - 3]} {lowered[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in special:
            valence = special[seq]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{lowered[i]} {lowered[i + 1]}"
        if zeroone in special:
            valence = special[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{lowered[i]} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in special:
            valence = special[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in boosters:
            valence = valence + boosters[n_gram]
    return valence


def _but_check(lowered: list[str], sentiments: list[float]) -> None:
    # Kept as vaderSentiment writes it (including looking each value up by equality), so scores match.
    if "but" in lowered:
        bi = lowered.index("but")
        for sentiment in sentiments:
            si = sentiments.index(sentiment)
            if si < bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 0.5)
            elif si > bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 1.5)


_NEGATE = frozenset(vader.NEGATE)
_PUNCTUATION = string.punctuation
# Every word of a special-case idiom or of a multi-word booster ("kind of"): a window of the text without
# any of them cannot match one.
_IDIOM_WORDS = frozenset(
    word
    for phrase in (*vader.SPECIAL_CASES, *(b for b in vader.BOOSTER_DICT if " " in b))
    for word in phrase.split()
)


@lru_cache(maxsize=1)
def analyzer() -> _FastAnalyzer:
    """The process's one analyzer (loading the lexicons takes ~40 ms)."""
    return _FastAnalyzer()


def sentiment_of(text: str) -> float:
    return analyzer().compound(text)


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
