"""The recent-search query language (xapi/README.md §3.2): parse a query, then match posts against it.

Grammar (AND binds before OR, a space means AND):

    query  := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr := unary+
    unary  := "-" atom | atom          (a negated group `-( … )` is an error, as on X)
    atom   := "(" or_expr ")" | "\"phrase\"" | operator | keyword

Keywords and phrases match whole words, case- and accent-insensitively. Conjunction-required
operators (`is:`, `has:`, `lang:`) and negated terms cannot make up a query on their own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_LENGTH = 512

_WORD_RE = re.compile(r"[\w']+", re.UNICODE)
_STANDALONE_OPS = {
    "from",
    "to",
    "conversation_id",
    "in_reply_to_tweet_id",
    "quotes_of_tweet_id",
    "url",
}
_CONJUNCTION_OPS = {"is", "has", "lang"}
_IS_VALUES = {"retweet", "reply", "quote", "verified", "nullcast"}
_HAS_VALUES = {
    "mentions",
    "hashtags",
    "links",
    "media",
    "images",
    "cashtags",
    "geo",
    "video_link",
}


class QueryError(ValueError):
    """A malformed query; the message is what X would say."""


def fold(text: str) -> str:
    """Lowercase and strip accents ("Café" → "cafe"): X ignores accents and case in search."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD_RE.findall(fold(text))


@dataclass(frozen=True)
class PostFacts:
    """What the matcher needs to know about one post (built by the search view)."""

    text: str
    author_username: str
    author_verified: bool
    lang: str
    conversation_id: str
    mentions: frozenset[str]
    hashtags: frozenset[str]
    in_reply_to_username: str | None = None
    in_reply_to_post_id: str | None = None
    quote_of_id: str | None = None
    is_retweet: bool = False
    words: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(words(self.text)))


@dataclass(frozen=True)
class Term:
    kind: str  # "word", "phrase", "mention", "hashtag", or an operator name
    value: str
    negated: bool = False

    @property
    def standalone(self) -> bool:
        return self.kind not in _CONJUNCTION_OPS


@dataclass(frozen=True)
class Group:
    op: str  # "and" | "or"
    children: tuple[Node, ...]


Node = Term | Group


def _contains_sequence(haystack: tuple[str, ...], needle: list[str]) -> bool:
    if not needle:
        return False
    n = len(needle)
    return any(
        list(haystack[i : i + n]) == needle for i in range(len(haystack) - n + 1)
    )


def _match_term(term: Term, post: PostFacts) -> bool:
    kind, value = term.kind, term.value
    if kind in ("word", "phrase"):
        return _contains_sequence(post.words, words(value))
    if kind == "mention":
        return value in post.mentions
    if kind == "hashtag":
        return value in post.hashtags
    if kind == "from":
        return post.author_username.lower() == value
    if kind == "to":
        return (post.in_reply_to_username or "").lower() == value
    if kind == "lang":
        return post.lang.lower() == value
    if kind == "conversation_id":
        return post.conversation_id == value
    if kind == "in_reply_to_tweet_id":
        return post.in_reply_to_post_id == value
    if kind == "quotes_of_tweet_id":
        return post.quote_of_id == value
    if kind == "url":
        return value in post.text.lower()
    if kind == "is":
        return {
            "retweet": post.is_retweet,
            "reply": post.in_reply_to_post_id is not None,
            "quote": post.quote_of_id is not None,
            "verified": post.author_verified,
            "nullcast": False,
        }[value]
    if kind == "has":
        if value == "mentions":
            return bool(post.mentions)
        if value == "hashtags":
            return bool(post.hashtags)
        if value == "links":
            return "http://" in post.text or "https://" in post.text
        return False
    raise AssertionError(kind)


def matches(node: Node, post: PostFacts) -> bool:
    if isinstance(node, Term):
        return _match_term(node, post) != node.negated
    if node.op == "and":
        return all(matches(child, post) for child in node.children)
    return any(matches(child, post) for child in node.children)


# --- Parsing -------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r'\s+|\(|\)|-?"[^"]*"|"|-?[^\s()"]+')


def _tokenize(query: str) -> list[tuple[str, int]]:
    tokens: list[tuple[str, int]] = []
    for m in _TOKEN_RE.finditer(query):
        text = m.group(0)
        if text.isspace():
            continue
        if text == '"' or (
            text.startswith(('"', '-"')) and (len(text) < 2 or not text.endswith('"'))
        ):
            raise QueryError(
                f"There were errors processing your request: Unbalanced quote (at position {m.start() + 1})"
            )
        tokens.append((text, m.start() + 1))
    return tokens


def _term_from_token(text: str, position: int) -> Term:
    negated = text.startswith("-") and len(text) > 1
    body = text[1:] if negated else text
    if body.startswith('"'):
        phrase = body[1:-1]
        if not phrase.strip():
            raise QueryError(
                f"There were errors processing your request: Empty phrase (at position {position})"
            )
        return Term("phrase", phrase, negated)
    if body.startswith("@") and len(body) > 1:
        return Term("mention", body[1:].lower(), negated)
    if body.startswith("#") and len(body) > 1:
        return Term("hashtag", fold(body[1:]), negated)
    name, sep, value = body.partition(":")
    if sep and re.fullmatch(r"[A-Za-z_]+", name) and not value.startswith("//"):
        op = name.lower()
        if op not in _STANDALONE_OPS | _CONJUNCTION_OPS:
            raise QueryError(
                f"There were errors processing your request: Reference to invalid operator '{op}'. "
                f"Operator is not available in current product or product packaging (at position {position})"
            )
        value = value.lower()
        if not value:
            raise QueryError(
                f"There were errors processing your request: Missing value for '{op}:' (at position {position})"
            )
        if (op == "is" and value not in _IS_VALUES) or (
            op == "has" and value not in _HAS_VALUES
        ):
            raise QueryError(
                f"There were errors processing your request: Reference to invalid field '{value}' (at position {position})"
            )
        if op in ("from", "to"):
            value = value.lstrip("@")
        return Term(op, value, negated)
    return Term("word", body, negated)


class _Parser:
    def __init__(self, tokens: list[tuple[str, int]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def position(self) -> int:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else 0

    def parse_or(self) -> Node:
        branches = [self.parse_and()]
        while self.peek() == "OR":
            self.pos += 1
            branches.append(self.parse_and())
        return branches[0] if len(branches) == 1 else Group("or", tuple(branches))

    def parse_and(self) -> Node:
        children: list[Node] = []
        while (lexeme := self.peek()) is not None and lexeme not in (")", "OR"):
            children.append(self.parse_unary())
        if not children:
            where = self.position()
            raise QueryError(
                f"There were errors processing your request: Ambiguous use of or / empty group (at position {where})"
            )
        return children[0] if len(children) == 1 else Group("and", tuple(children))

    def parse_unary(self) -> Node:
        lexeme, position = self.tokens[self.pos]
        if (
            lexeme == "-"
            and self.pos + 1 < len(self.tokens)
            and self.tokens[self.pos + 1][0] == "("
        ):
            raise QueryError(
                "There were errors processing your request: Negated groups are not supported; "
                f"negate each term instead, e.g. -a -b (at position {position})"
            )
        if lexeme == "(":
            self.pos += 1
            node = self.parse_or()
            if self.peek() != ")":
                raise QueryError(
                    f"There were errors processing your request: Unbalanced parenthesis (at position {position})"
                )
            self.pos += 1
            return node
        self.pos += 1
        if lexeme == "-":
            raise QueryError(
                f"There were errors processing your request: Dangling negation (at position {position})"
            )
        return _term_from_token(lexeme, position)


def _has_positive_standalone(node: Node) -> bool:
    if isinstance(node, Term):
        return node.standalone and not node.negated
    if node.op == "and":
        return any(_has_positive_standalone(child) for child in node.children)
    return all(_has_positive_standalone(child) for child in node.children)


def parse_query(query: str) -> Node:
    """Parse a recent-search query or raise QueryError with X's style of message."""
    if not query.strip():
        raise QueryError("There were errors processing your request: Empty query")
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"There were errors processing your request: Query length ({len(query)}) exceeds "
            f"the maximum of {MAX_QUERY_LENGTH} characters"
        )
    parser = _Parser(_tokenize(query))
    node = parser.parse_or()
    if parser.peek() is not None:
        raise QueryError(
            f"There were errors processing your request: Unbalanced parenthesis (at position {parser.position()})"
        )
    if not _has_positive_standalone(node):
        raise QueryError(
            "There were errors processing your request: Your query must contain at least one standalone "
            "operator that is not negated; conjunction-required operators (is:, has:, lang:) and negated "
            "terms cannot be used on their own"
        )
    return node
