"""Guards that run before something is queued: personal data in public text, a heated thread, a colleague
who answered first.

- Privacy: email addresses, phone numbers (phonenumbers' matcher, valid numbers only, in the admin's
  default region), payment card numbers (13-19 digits, spaces or dashes allowed, Luhn-checked) and the
  admin's account/order patterns. `block` mode refuses a public reply and offers a DM; `warn` mode only
  warns.
- Cool-off: a thread is heated when enough posts went back and forth and the customer's recent posts are
  strongly negative (VADER compound, mean at or below the admin's threshold).
- Collision: another agent queued a reply, DM or email for the same mention or thread after this composer
  was opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import phonenumbers
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from mentions.models import Mention
from responders.models import GuardSettings, Outbound, PrivacyPattern

# Deliberately loose: we would rather block a borderline address than post a real one.
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by single spaces or dashes; not glued to other digits.
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")


@dataclass(frozen=True)
class Finding:
    kind: str  # email | phone | card | pattern
    label: str  # what the agent reads: "an email address", "order number"
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _overlaps(found: list[Finding], start: int, end: int) -> bool:
    return any(f.start < end and start < f.end for f in found)


@cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def scan_text(
    text: str, *, region: str = "US", patterns: list[PrivacyPattern] | None = None
) -> list[Finding]:
    """Every piece of personal data in `text`, in order of appearance."""
    found: list[Finding] = []
    for m in _EMAIL_RE.finditer(text):
        found.append(Finding("email", "an email address", m.start(), m.end()))
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if luhn_ok(digits) and not _overlaps(found, m.start(), m.end()):
            found.append(Finding("card", "a payment card number", m.start(), m.end()))
    for pattern in patterns or []:
        try:
            compiled = _compiled(pattern.regex)
        except re.error:
            continue  # the settings form refuses bad patterns; an old bad row must not break sending
        for m in compiled.finditer(text):
            if m.end() > m.start() and not _overlaps(found, m.start(), m.end()):
                found.append(Finding("pattern", pattern.name, m.start(), m.end()))
    for match in phonenumbers.PhoneNumberMatcher(
        text, region or None, leniency=phonenumbers.Leniency.VALID
    ):
        if not _overlaps(found, match.start, match.end):
            found.append(Finding("phone", "a phone number", match.start, match.end))
    return sorted(found, key=lambda f: f.start)


def scan_with_settings(text: str, guard: GuardSettings) -> list[Finding]:
    return scan_text(
        text,
        region=guard.phone_region,
        patterns=list(PrivacyPattern.objects.filter(is_active=True)),
    )


def describe(findings: list[Finding]) -> str:
    labels = list(dict.fromkeys(f.label for f in findings))
    return ", ".join(labels)


# --- Cool-off ------------------------------------------------------------------------------------


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment_of(text: str) -> float:
    return float(_analyzer().polarity_scores(text)["compound"])


@dataclass(frozen=True)
class Heat:
    is_heated: bool
    exchanges: int
    mean_sentiment: float | None


def thread_heat(mention: Mention, guard: GuardSettings) -> Heat:
    """How heated the mention's thread is: customer posts + our replies, and the customer's mood.

    Uses the stored VADER score (ingest computes it) and computes it for posts stored without one.
    """
    posts = list(
        Mention.objects.filter(thread_id=mention.thread_id, kind=Mention.Kind.POST)
        .order_by("-created_at")
        .values_list("text", "sentiment")[:10]
    )
    ours = Outbound.objects.filter(
        mention__thread_id=mention.thread_id,
        channel=Outbound.Channel.REPLY,
        state=Outbound.State.SENT,
    ).count()
    exchanges = len(posts) + ours
    recent = posts[: max(2, guard.cooloff_min_posts)]
    if not recent:
        return Heat(False, exchanges, None)
    scores = [s if s is not None else sentiment_of(t) for t, s in recent]
    mean = sum(scores) / len(scores)
    heated = (
        exchanges >= guard.cooloff_min_posts
        and len(recent) >= 2
        and mean <= guard.cooloff_threshold
    )
    return Heat(heated, exchanges, round(mean, 2))


# --- Collision -----------------------------------------------------------------------------------


def find_collisions(
    mention: Mention, *, agent: AbstractBaseUser, opened_at: datetime
) -> list[Outbound]:
    """Other agents' replies/DMs/emails on this mention or its thread queued after `opened_at`."""
    return list(
        Outbound.objects.filter(
            Q(mention=mention) | Q(mention__thread_id=mention.thread_id),
            channel__in=[
                Outbound.Channel.REPLY,
                Outbound.Channel.DM,
                Outbound.Channel.EMAIL,
            ],
            created_at__gt=opened_at,
        )
        .exclude(agent_id=agent.pk)
        .exclude(state=Outbound.State.CANCELLED)
        .select_related("agent")
        .order_by("created_at")
    )
