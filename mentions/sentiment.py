"""VADER sentiment (vaderSentiment's compound score), computed once per mention at ingest.

`_FastAnalyzer` is a faithful port of vaderSentiment's `polarity_scores` and the per-word rules it calls
that returns exactly the library's compound score (tests/mentions/test_scoring.py compares them on real
customer tweets) at about a third of its cost. The analyzer is built once per process.
"""

from __future__ import annotations

import string
from functools import lru_cache

from vaderSentiment import vaderSentiment as vader  # noqa: N813 - the module's own name


class _FastAnalyzer(vader.SentimentIntensityAnalyzer):  # type: ignore[misc]  # untyped library
    """vaderSentiment's analyzer with the same results and less work per text.

    A faithful port of `polarity_scores` and the per-word rules it calls, minus work that cannot change
    the result:
    - emoji translation walks the text one character at a time, concatenating strings; a text without
      any emoji character comes out unchanged, so that walk is skipped for it;
    - a word that is not in the lexicon (or is a booster) gets valence 0 in the original too; it is
      decided here without a method call;
    - the original lower-cases the whole text's word list again inside each check, for each word; here
      it is lower-cased once per text;
    - an ASCII text skips the emoji test, and a word before a lexicon word changes its valence only
      when it is a booster (`scalar_inc_dec` inlined: no call for the other words).
    tests/mentions/test_scoring.py checks that the compound scores equal vaderSentiment's on real tweets.
    """

    def __init__(self) -> None:
        super().__init__()
        singles = sorted(k for k in self.emojis if len(k) == 1)
        self._emoji_chars = frozenset(singles)
        # Emoji are not ASCII: an ASCII text skips the set test (unless the lexicon says otherwise).
        self._ascii_emoji = any(ch.isascii() for ch in singles)
        # The words that carry a valence of their own: in the lexicon and not a booster.
        self._valent = frozenset(k for k in self.lexicon if k not in vader.BOOSTER_DICT)

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
        if (
            self._ascii_emoji or not text.isascii()
        ) and not self._emoji_chars.isdisjoint(text):
            text = self._translate_emoji(text)
        text = text.strip()
        words = [
            token if len(stripped := token.strip(_PUNCTUATION)) <= 2 else stripped
            for token in text.split()
        ]
        lowered = list(map(str.lower, words))
        valent = self._valent
        hits = [i for i, low in enumerate(lowered) if low in valent]
        if not hits:  # every word has valence 0: so has the text
            return 0.0
        uppers = sum(map(str.isupper, words))
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
            if i > start_i and (before := lowered[i - (start_i + 1)]) not in lexicon:
                # vader.scalar_inc_dec, inlined: only a booster word changes the valence
                booster = _BOOSTERS.get(before)
                if booster is not None:
                    s = -booster if valence < 0 else booster
                    if is_cap_diff and words[i - (start_i + 1)].isupper():
                        s = s + vader.C_INCR if valence > 0 else s - vader.C_INCR
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
_BOOSTERS: dict[str, float] = vader.BOOSTER_DICT
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
